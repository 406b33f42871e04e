"""An HTTP server on 127.0.0.1 that misbehaves as a test scripts it (hostile API servers).

Every answer is ``behave(handler)``: the test writes whatever bytes it wants (a status and
headers, a body that never ends, a stream that breaks). The server counts the requests
(method, path, headers, body) and the body bytes it managed to send.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Behaviour = Callable[[BaseHTTPRequestHandler], None]


class HostileServer:
    """An HTTP server on 127.0.0.1 whose every answer is `behave(handler)`; it counts the
    requests and the body bytes it managed to send."""

    def __init__(self, behave: Behaviour) -> None:
        self.requests: list[dict[str, Any]] = []
        self.bytes_sent = 0
        self.connection_closed = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                server.requests.append({"method": self.command, "path": self.path,
                                        "headers": dict(self.headers), "body": body})
                try:
                    behave(self)
                except (BrokenPipeError, ConnectionResetError):
                    server.connection_closed.set()

            do_GET = do_POST = _serve  # noqa: N815 - http.server's names

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        # a short poll: shutdown() waits for it (the default 0.5 s, once per test)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)

    def send(self, handler: BaseHTTPRequestHandler, data: bytes) -> None:
        handler.wfile.write(data)
        handler.wfile.flush()
        self.bytes_sent += len(data)

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def answer(handler: BaseHTTPRequestHandler, status: int, body: bytes,
           headers: dict[str, str] | None = None, content_type: str = "application/json") -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


def stream_headers(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "text/event-stream")
    handler.send_header("Connection", "close")
    handler.end_headers()
