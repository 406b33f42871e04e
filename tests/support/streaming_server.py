"""A server of chunked event streams on keep-alive connections, for the async client's
tests of connection reuse (lib/openai/async_client.py: a stream's end is drained so that
its connection goes back to the pool)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler

from tests.support.hostile_server import HostileServer


def chunked(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


class StreamingServer:
    """Chunked event streams on keep-alive connections; records the client's port of
    every request (one port = one connection)."""

    def __init__(self, events: list[dict], *, end_body: bool = True,
                 trickle: bool = False) -> None:
        self.ports: list[int] = []
        self.release_hold = threading.Event()
        self._events = events
        self._end_body = end_body
        self._trickle = trickle
        self.server = HostileServer(self._behave)

    def _behave(self, handler: BaseHTTPRequestHandler) -> None:
        self.ports.append(handler.client_address[1])
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        for event in self._events:
            handler.wfile.write(chunked(f"data: {json.dumps(event)}\n\n".encode()))
        handler.wfile.write(chunked(b"data: [DONE]\n\n"))
        handler.wfile.flush()
        if self._end_body:
            handler.wfile.write(b"0\r\n\r\n")
            handler.wfile.flush()
        elif self._trickle:  # a keep-alive comment every 10 ms after the last event, endless
            while not self.release_hold.wait(0.01):
                handler.wfile.write(chunked(b": ping\n"))
                handler.wfile.flush()
            handler.close_connection = True
        else:  # the body stays open after the last event until the test ends
            self.release_hold.wait(10)
            handler.close_connection = True
