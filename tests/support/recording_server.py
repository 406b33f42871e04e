"""A small HTTP server on 127.0.0.1 that records every request and answers from a script:
the platform API and the service-mode result URL for tests that run the CLI."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

COMPONENTS = Path(__file__).resolve().parent.parent / "sailor" / "components"
# How often serve_forever looks at its stop flag: shutdown() waits up to this long, once
# per test (the default 0.5 s was about half of the non-broker test time).
POLL_INTERVAL_S = 0.02


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def basic_auth(self) -> str | None:
        value = self.headers.get("authorization", "")
        if not value.startswith("Basic "):
            return None
        return base64.b64decode(value[6:]).decode()


@dataclass
class RecordingServer:
    """``answers[(method, path)]`` is a list of (status, body) used one after the other;
    the last one repeats. Unscripted requests get 200 ``{}``."""

    requests: list[RecordedRequest] = field(default_factory=list)
    answers: dict[tuple[str, str], list[tuple[int, Any]]] = field(default_factory=dict)
    url: str = ""

    def answer(self, method: str, path: str, *responses: tuple[int, Any]) -> None:
        self.answers[(method, path)] = list(responses)

    def next_answer(self, method: str, path: str) -> tuple[int, Any]:
        scripted = self.answers.get((method, path))
        if not scripted:
            return 200, {}
        return scripted.pop(0) if len(scripted) > 1 else scripted[0]


def start_recording_server() -> tuple[RecordingServer, ThreadingHTTPServer]:
    state = RecordingServer()

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            state.requests.append(RecordedRequest(self.command, self.path, headers, body))
            status, answer = state.next_answer(self.command, self.path)
            payload = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = _handle  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, args=(POLL_INTERVAL_S,), daemon=True).start()
    return state, server


def path_with_this_python() -> str:
    """PATH with the test interpreter's ``python`` first, as the image's is: what the start
    scripts call."""
    return os.pathsep.join([str(Path(sys.executable).parent),
                            os.environ.get("PATH", "/usr/bin:/bin")])


def run_cli(
    args: list[str], env: dict[str, str], cwd: Path, timeout: float = 60, stdin: str | None = None,
    *, command: Sequence[str] = (sys.executable, "-m", "elasticio_sailor"),
) -> subprocess.CompletedProcess[str]:
    """``python -m elasticio_sailor <args>`` (or ``command <args>``) as the platform starts
    it: a fresh process with only the given environment (plus PATH)."""
    full_env = {"PATH": path_with_this_python(), **env}
    return subprocess.run(
        [*command, *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin,
        check=False,
    )


def log_records(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]
