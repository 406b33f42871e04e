"""A local HTTP server on 127.0.0.1 for download tests; it records every request.

Paths:
  /file/<name>          200 with the body of ``files[name]`` (content type from ``types``)
  /gzip/<name>          the same, gzip-compressed on the wire (a small answer can unpack big)
  /redirect?to=<url>    302 to <url>
  /chain/<n>            302 to /chain/<n-1>; /chain/0 answers 200 "end"
  /status/<code>        that status, empty body
  /drip/<size>          declares <size> bytes, sends one byte every ``drip_interval_s``
  /huge                 declares 5 GB, sends a little, then waits
  /odd-length           declares its size as "²" (a digit to str.isdigit, not to int)
  anything else         404
"""

from __future__ import annotations

import gzip
import http.server
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class ServerState:
    files: dict[str, bytes] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)
    drip_interval_s: float = 0.2
    requests: list[Recorded] = field(default_factory=list)
    port: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]


class _Handler(http.server.BaseHTTPRequestHandler):
    state: ServerState
    protocol_version = "HTTP/1.1"

    def log_message(self, *_args: Any) -> None:
        pass

    def do_GET(self) -> None:
        state = self.server.state  # type: ignore[attr-defined]
        state.requests.append(Recorded("GET", self.path, dict(self.headers.items())))
        parts = urlsplit(self.path)
        segments = parts.path.strip("/").split("/")
        head, rest = segments[0], "/".join(segments[1:])
        if head == "file" and rest in state.files:
            self._answer(200, state.files[rest], state.types.get(rest, "application/pdf"))
        elif head == "gzip" and rest in state.files:
            self._answer(200, gzip.compress(state.files[rest]), "application/pdf",
                         encoding="gzip")
        elif head == "redirect":
            self._redirect(parse_qs(parts.query)["to"][0])
        elif head == "chain":
            left = int(rest)
            if left > 0:
                self._redirect(f"/chain/{left - 1}")
            else:
                self._answer(200, b"end", "text/plain")
        elif head == "status":
            self._answer(int(rest), b"", "text/plain")
        elif head == "drip":
            self._drip(int(rest), state)
        elif head == "huge":
            self.send_response(200)
            self.send_header("Content-Type", "application/pdf")
            self.send_header("Content-Length", str(5 * 10**9))
            self.end_headers()
            self.wfile.write(b"%PDF-" + b"x" * 1000)
            self.wfile.flush()
            state.stop.wait(10)
        elif head == "odd-length":
            self.send_response(200)
            self.send_header("Content-Length", "\u00b2")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"%PDF-")
            self.close_connection = True
        else:
            self._answer(404, b"", "text/plain")

    def _answer(self, status: int, body: bytes, content_type: str,
                encoding: str | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if encoding:
            self.send_header("Content-Encoding", encoding)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _drip(self, size: int, state: ServerState) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/pdf")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        for _ in range(size):
            if state.stop.wait(state.drip_interval_s):
                return
            try:
                self.wfile.write(b"x")
                self.wfile.flush()
            except OSError:
                return


@contextmanager
def misbehaving_server(tls: ssl.SSLContext | None = None, **kwargs: Any
                       ) -> Iterator[ServerState]:
    """A running server (HTTPS with `tls`); stopped (and its slow answers cut) on exit."""
    state = ServerState(**kwargs)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    server.daemon_threads = True
    server.state = state  # type: ignore[attr-defined]
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(5)
