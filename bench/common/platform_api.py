"""A stand-in for the platform's REST API: only what a sailor needs at start-up.

``GET /v1/tasks/{flow}/steps/{step}`` with the right basic auth answers the step data
(``config`` and ``snapshot``); everything else is 401 or 404.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_STEP_PATH = re.compile(r"^/v1/tasks/([^/]+)/steps/([^/]+)$")


class PlatformStandIn:
    def __init__(self, username: str, api_key: str, config: dict[str, Any] | None = None) -> None:
        self.username = username
        self.api_key = api_key
        self.config: dict[str, Any] = config or {}
        self.requests: list[str] = []
        expected = "Basic " + base64.b64encode(f"{username}:{api_key}".encode()).decode()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                stand_in.requests.append(self.path)
                if self.headers.get("Authorization") != expected:
                    self._answer(401, {"error": "Unauthorized"})
                elif _STEP_PATH.match(self.path):
                    self._answer(200, {"config": stand_in.config, "snapshot": {}})
                else:
                    self._answer(404, {"error": "Not found"})

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> PlatformStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
