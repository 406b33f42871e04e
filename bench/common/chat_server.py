"""A local chat-completion server that answers every POST after a fixed delay.

Run as a script it prints ``READY <port>`` and serves until killed; ``ChatServer`` starts
it as a separate process so that its work does not share the harness's interpreter.
Plain HTTP/1.1 on asyncio streams, keep-alive, no pipelining.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import sys
import time
from pathlib import Path

COMPLETION = {
    "id": "chatcmpl-bench",
    "object": "chat.completion",
    "created": 1700000000,
    "model": "gpt-4o-mini",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "pong"},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 9, "completion_tokens": 1, "total_tokens": 10},
}


async def _serve_connection(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay_s: float, body: bytes
) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            keep_alive = True
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    keep_alive = False
            if length:
                await reader.readexactly(length)
            await asyncio.sleep(delay_s)
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: " + str(len(body)).encode() + b"\r\n"
                + (b"" if keep_alive else b"Connection: close\r\n")
                + b"\r\n" + body
            )
            await writer.drain()
            if not keep_alive:
                break
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def _main(delay_s: float) -> None:
    body = json.dumps(COMPLETION, separators=(",", ":")).encode()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _serve_connection(reader, writer, delay_s, body)

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    print(f"READY {port}", flush=True)
    async with server:
        await server.serve_forever()


class ChatServer:
    """The server in its own process; ``url`` is the OpenAI-style base URL (``…/v1``)."""

    def __init__(self, delay_ms: int = 100) -> None:
        self.delay_ms = delay_ms
        self.port = 0
        self._process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> ChatServer:
        self._process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--delay-ms", str(self.delay_ms)],
            stdout=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 20
        line = self._process.stdout.readline()
        if not line.startswith("READY ") or time.monotonic() > deadline:
            self._process.kill()
            raise RuntimeError(f"chat server did not start: {line!r}")
        self.port = int(line.split()[1])
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--delay-ms", type=int, default=100)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(args.delay_ms / 1000))
