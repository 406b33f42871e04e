"""Benchmark 5: our OpenAI clients against the official ``openai`` Python SDK.

What users run: Send Request and Create Response call the API through our async client
(``lib.openai.async_client.AsyncOpenAIClient`` on aiohttp), on the sailor's event loop;
the other actions through the sync client (``lib.openai.client.OpenAIClient`` on
``requests``). So two pairs are measured, each with its floors:

- async: our ``AsyncOpenAIClient`` (``create_chat_completion``) against the SDK's
  ``AsyncOpenAI``, on one event loop (the sailor's: uvloop when installed), with a plain
  ``aiohttp.ClientSession`` as the floor of an aiohttp client;
- sync: our ``OpenAIClient.request_json`` against the SDK's ``OpenAI``, with a plain
  ``requests.Session`` as the floor of a ``requests`` client.

All of them call the same local keep-alive HTTP server on 127.0.0.1 (a
``ThreadingHTTPServer`` in a separate process that answers every POST at once with a small
``chat.completion`` JSON): ``--calls`` sequential chat-completion calls per block, the
clients alternating block by block (A B C … C B A), microseconds per call. A bare
``http.client`` keep-alive request is the floor of any client: the client overhead is the
time per call above it. The server's share is the same for all, so the ratios understate
the differences in client overhead.

Then the import time of our component module (``lib.actions.send_request``, which
imports our clients) against ``import openai``: fresh interpreters, median of ``--imports``.

    .venv/bin/python bench/client_overhead.py

The SDK is pinned in ``bench/requirements.txt``; when it is missing the script says so
and prints the one command that installs it (``--install`` runs that command).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import inspect
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
PYTHON = REPO_ROOT / ".venv" / "bin" / "python"
REQUIREMENTS = BENCH_DIR / "requirements.txt"
API_KEY = "sk-bench-0000000000000000"
REQUEST = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello."}]}
ANSWER = json.dumps({
    "id": "chatcmpl-bench", "object": "chat.completion", "created": 1764115200,
    "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_bench",
    "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                 "message": {"role": "assistant", "content": "Hello! How can I help?",
                             "refusal": None}}],
    "usage": {"prompt_tokens": 9, "completion_tokens": 7, "total_tokens": 16},
}, separators=(",", ":")).encode()

SERVER = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
ANSWER = sys.stdin.buffer.read()
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    disable_nagle_algorithm = True
    def log_message(self, *args):
        pass
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(ANSWER)))
        self.send_header("x-request-id", "req_bench")
        # head and body in one write: a second small write would wait for the client's
        # delayed ACK (Nagle), ~40 ms per call whatever the client
        self._headers_buffer.append(b"\\r\\n" + ANSWER)
        self.flush_headers()
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def pinned_openai() -> str:
    for line in REQUIREMENTS.read_text().splitlines():
        if line.strip().startswith("openai=="):
            return line.strip()
    raise SystemExit(f"no openai== pin in {REQUIREMENTS}")


def ensure_sdk(install: bool) -> None:
    spec = pinned_openai()
    try:
        import openai
    except ImportError:
        openai = None
    if openai is not None and openai.__version__ == spec.split("==")[1]:
        return
    command = [str(PYTHON), "-m", "pip", "install", spec]
    if not install:
        found = f"openai {openai.__version__}" if openai else "no openai package"
        raise SystemExit(f"the benchmark needs {spec} in the venv ({found} found); run\n"
                         f"    {' '.join(command)}\nor pass --install")
    subprocess.run(command, check=True)
    raise SystemExit(subprocess.call([sys.executable, *sys.argv]))  # fresh imports


def start_server() -> tuple[subprocess.Popen, str]:
    server = subprocess.Popen([sys.executable, "-c", SERVER], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE)
    server.stdin.write(ANSWER)
    server.stdin.close()
    port = int(server.stdout.readline())
    return server, f"http://127.0.0.1:{port}/v1"


def sync_clients(base_url: str) -> dict[str, Callable[[], str]]:
    """name → a function that makes one chat-completion call and returns the answer text."""
    import http.client
    from urllib.parse import urlsplit

    import openai
    import requests

    from lib.openai.client import OpenAIClient
    from lib.openai.paths import CHAT_COMPLETIONS_PATH

    ours = OpenAIClient(API_KEY, base_url=base_url)
    sdk = openai.OpenAI(api_key=API_KEY, base_url=base_url, max_retries=2)
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {API_KEY}"})
    url = f"{base_url}/chat/completions"

    def call_ours() -> str:
        answer = ours.request_json("POST", CHAT_COMPLETIONS_PATH, REQUEST)
        return str(answer["choices"][0]["message"]["content"])

    def call_sdk() -> str:
        return str(sdk.chat.completions.create(**REQUEST).choices[0].message.content)

    def call_requests() -> str:
        return str(session.post(url, json=REQUEST).json()["choices"][0]["message"]["content"])

    parts = urlsplit(url)
    raw = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port)
    raw_headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}

    def call_floor() -> str:
        # the least any Python client does: one keep-alive request, JSON in and out
        raw.request("POST", parts.path, json.dumps(REQUEST).encode(), raw_headers)
        return str(json.loads(raw.getresponse().read())["choices"][0]["message"]["content"])

    return {"ours sync": call_ours, "openai sync": call_sdk, "requests": call_requests,
            "http.client": call_floor}


def async_clients(base_url: str) -> tuple[dict[str, Callable[[], Awaitable[str]]],
                                          Callable[[], Awaitable[None]]]:
    """name → a coroutine function that makes one chat-completion call on the running
    loop and returns the answer text; and the function that closes them all."""
    import aiohttp
    import openai

    from lib.openai.async_client import AsyncOpenAIClient
    from lib.openai.chat import create_chat_completion

    ours = AsyncOpenAIClient(API_KEY, base_url=base_url)
    sdk = openai.AsyncOpenAI(api_key=API_KEY, base_url=base_url, max_retries=2)
    session = aiohttp.ClientSession(headers={"Authorization": f"Bearer {API_KEY}"})
    url = f"{base_url}/chat/completions"

    async def call_ours() -> str:
        answer = await create_chat_completion(ours, REQUEST)
        return str(answer["choices"][0]["message"]["content"])

    async def call_sdk() -> str:
        answer = await sdk.chat.completions.create(**REQUEST)
        return str(answer.choices[0].message.content)

    async def call_aiohttp() -> str:
        async with session.post(url, json=REQUEST) as answer:
            return str((await answer.json())["choices"][0]["message"]["content"])

    async def close() -> None:
        await ours.aclose()
        await sdk.close()
        await session.close()

    return {"ours async": call_ours, "openai async": call_sdk, "aiohttp": call_aiohttp}, close


async def time_block(call: Callable[[], object], calls: int) -> float:
    """Microseconds per call over ``calls`` sequential calls (a coroutine function's calls
    awaited one after the other on the running loop)."""
    start = time.perf_counter()
    if inspect.iscoroutinefunction(call):
        for _ in range(calls):
            await call()
    else:
        for _ in range(calls):
            call()
    return (time.perf_counter() - start) * 1e6 / calls


async def measure(base_url: str, args: argparse.Namespace) -> dict[str, list[float]]:
    """Every client's µs per call, blocks interleaved, all on the running loop (a sync
    client blocks it while it runs: nothing else runs there)."""
    funcs: dict[str, Callable[[], object]] = {}
    async_funcs, close = async_clients(base_url)
    funcs.update(async_funcs)
    funcs.update(sync_clients(base_url))
    try:
        for name, call in funcs.items():
            answer = call()
            if inspect.isawaitable(answer):
                answer = await answer
            assert answer == "Hello! How can I help?", name
            await time_block(call, args.warmup)
        per_call: dict[str, list[float]] = {name: [] for name in funcs}
        for rep in range(args.reps):
            order = list(funcs) if rep % 2 == 0 else list(reversed(funcs))
            for name in order:
                per_call[name].append(await time_block(funcs[name], args.calls))
            print(f"  block {rep + 1}: " + ", ".join(
                f"{name} {per_call[name][-1]:.0f} µs" for name in funcs), flush=True)
    finally:
        await close()
    return per_call


def import_times(repetitions: int) -> dict[str, list[float]]:
    """Milliseconds to import each module in a fresh interpreter (cwd = the repo)."""
    code = ("import time; t = time.perf_counter(); import {module}; "
            "print((time.perf_counter() - t) * 1000)")
    modules = {"ours (lib.actions.send_request)": "lib.actions.send_request",
               "openai": "openai"}
    times: dict[str, list[float]] = {name: [] for name in modules}
    for _ in range(repetitions):
        for name, module in modules.items():  # interleaved
            out = subprocess.run([sys.executable, "-c", code.format(module=module)],
                                 cwd=REPO_ROOT, capture_output=True, text=True, check=True)
            times[name].append(float(out.stdout.strip().splitlines()[-1]))
    return times


def describe(values: list[float], digits: int = 0) -> str:
    return (f"{statistics.median(values):.{digits}f} "
            f"({min(values):.{digits}f}-{max(values):.{digits}f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000, help="calls per block (2000)")
    parser.add_argument("--reps", type=int, default=5, help="blocks per client (5)")
    parser.add_argument("--warmup", type=int, default=200, help="untimed calls per client")
    parser.add_argument("--imports", type=int, default=10, help="fresh imports each (10)")
    parser.add_argument("--install", action="store_true",
                        help="pip-install the pinned openai SDK into the venv when missing")
    args = parser.parse_args()
    ensure_sdk(args.install)
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    import openai
    from elasticio_sailor.task_mode import event_loop_factory

    loop_factory = event_loop_factory(os.environ)
    server, base_url = start_server()
    try:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            per_call = runner.run(measure(base_url, args))
    finally:
        server.terminate()
        server.wait()
    imports = import_times(args.imports)

    median = {name: statistics.median(values) for name, values in per_call.items()}
    floor = median["http.client"]
    names = list(imports)
    import_ratio = statistics.median(imports[names[0]]) / statistics.median(imports[names[1]])
    loop_name = "uvloop" if loop_factory is not None else "asyncio"
    print(f"\nclient overhead — {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}, "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, Python "
          f"{platform.python_version()}, openai {openai.__version__}, {loop_name} loop, "
          f"{args.reps} blocks of {args.calls} sequential calls per client, interleaved")
    print("  µs per call, median (min-max): " + ", ".join(
        f"{name} {describe(values)}" for name, values in per_call.items()))
    for ours, sdk, plain in (("ours async", "openai async", "aiohttp"),
                             ("ours sync", "openai sync", "requests")):
        print(f"  {ours.split()[1]}: ours/openai = {median[ours] / median[sdk]:.2f} per call, "
              f"{(median[ours] - floor) / (median[sdk] - floor):.2f} of the overhead above the "
              f"http.client floor (ours {median[ours] - floor:.0f} µs, openai "
              f"{median[sdk] - floor:.0f} µs, plain {plain} {median[plain] - floor:.0f} µs)")
    print(f"  import ms, median (min-max) of {args.imports} fresh interpreters: "
          + ", ".join(f"{name} {describe(values, 1)}" for name, values in imports.items()))
    print(f"  import ours/openai = {import_ratio:.2f}")
    folder = REPO_ROOT / ".bench" / "results"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"client_overhead-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps({"per_call_us": per_call, "import_ms": imports,
                                "openai": openai.__version__, "loop": loop_name,
                                "args": vars(args)}, indent=1))
    print(f"\nraw results: {path}")


if __name__ == "__main__":
    main()
