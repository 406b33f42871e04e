"""A fake model server for the benchmarks: Chat Completions (whole or streamed) and
background Responses, on 127.0.0.1, in its own process.

- ``POST …/chat/completions``: after ``--delay-ms``, a small chat completion; with
  ``"stream": true``, server-sent events instead: ``--chunks`` content chunks spread
  evenly over ``--answer-s`` seconds (chunk k at k x answer_s / chunks), then a usage
  chunk and ``[DONE]`` with the last one. All streams are fed by one ticker, so a hundred
  concurrent answers cost the server one timer, not a hundred.
- ``POST …/responses`` with ``"background": true``: at once a ``queued`` Response;
  ``GET …/responses/{id}`` answers ``in_progress`` until the ``--polls``-th poll of that
  id, which answers ``completed``. Without ``background``: a completed Response after
  ``--delay-ms``. ``POST …/responses/{id}/cancel``: ``cancelled``.
- ``GET /bench/stats``: what the server saw since the last ``POST /bench/reset``:
  requests per kind, per stream the time its last chunk was written, per background job
  its create time, poll times and completion time. A request body's ``index`` field (the
  harness numbers its messages so; both components pass unknown fields on) names the
  answer (``chatcmpl-<index>``, ``resp_<index>_<n>``) so outputs and server records meet.

Run as a script it prints ``READY <port>`` and serves until killed; ``ModelServer``
starts it as a separate process so that its work does not share the harness's
interpreter (nor the sailor's CPU figures). Plain HTTP/1.1, keep-alive, no pipelining;
uvloop when installed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MODEL = "gpt-4o-mini"
CREATED = 1700000000
TOKEN = "tok "
USAGE = {"prompt_tokens": 9, "completion_tokens": 1, "total_tokens": 10}


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def completion(index: Any) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{index}",
        "object": "chat.completion",
        "created": CREATED,
        "model": MODEL,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": "pong"},
            "logprobs": None,
            "finish_reason": "stop",
        }],
        "usage": USAGE,
    }


def response(response_id: str, status: str) -> dict[str, Any]:
    done = status == "completed"
    return {
        "id": response_id,
        "object": "response",
        "created_at": CREATED,
        "status": status,
        "background": True,
        "model": MODEL,
        "output": [{
            "id": f"msg_{response_id}",
            "type": "message",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": "pong", "annotations": []}],
        }] if done else [],
        "usage": {"input_tokens": 9, "output_tokens": 1, "total_tokens": 10} if done else None,
        "error": None,
        "incomplete_details": None,
    }


def _frame(data: bytes) -> bytes:
    """One piece of a chunked transfer encoding."""
    return b"%x\r\n%s\r\n" % (len(data), data)


def _event(value: Any) -> bytes:
    return b"data: " + (value if isinstance(value, bytes) else _json(value)) + b"\n\n"


def stream_pieces(index: Any, chunks: int) -> list[bytes]:
    """The chunked-encoding frames of one streamed answer: ``chunks`` frames, the last one
    carrying the finish reason, the usage chunk, ``[DONE]`` and the end of the body."""
    head = {"id": f"chatcmpl-{index}", "object": "chat.completion.chunk",
            "created": CREATED, "model": MODEL}
    pieces = []
    for k in range(chunks):
        delta: dict[str, Any] = {"content": TOKEN}
        if k == 0:
            delta["role"] = "assistant"
        last = k == chunks - 1
        events = _event({**head, "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                              "finish_reason": "stop" if last else None}]})
        if last:
            events += _event({**head, "choices": [], "usage": USAGE}) + _event(b"[DONE]")
        pieces.append(_frame(events) + (b"0\r\n\r\n" if last else b""))
    return pieces


@dataclass
class Stream:
    writer: asyncio.StreamWriter
    index: Any
    started: float  # loop time
    pieces: list[bytes]
    done: asyncio.Future
    sent: int = 0


@dataclass
class Stats:
    requests: Counter = field(default_factory=Counter)
    last_chunk_at: dict[str, float] = field(default_factory=dict)  # index -> Unix time
    creates: Counter = field(default_factory=Counter)  # index -> background jobs created
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"requests": dict(self.requests), "last_chunk_at": self.last_chunk_at,
                "creates": dict(self.creates), "jobs": self.jobs}


class FakeModel:
    def __init__(self, delay_s: float, chunks: int, answer_s: float, polls: int) -> None:
        self.delay_s = delay_s
        self.chunks = chunks
        self.interval_s = answer_s / chunks
        self.polls = polls
        self.stats = Stats()
        self.streams: list[Stream] = []
        self._ticker: asyncio.Task | None = None

    # -- HTTP --

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.split(b"\r\n")
                method, path = lines[0].split(b" ")[:2]
                length, keep_alive = 0, True
                for line in lines[1:]:
                    name, _, value = line.partition(b":")
                    name = name.strip().lower()
                    if name == b"content-length":
                        length = int(value)
                    elif name == b"connection" and value.strip().lower() == b"close":
                        keep_alive = False
                body = await reader.readexactly(length) if length else b""
                await self.answer(writer, method.decode(), path.decode(), body)
                await writer.drain()
                if not keep_alive:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def answer(self, writer: asyncio.StreamWriter, method: str, path: str,  # noqa: PLR0911 (a router)
                     raw: bytes) -> None:
        request = json.loads(raw) if raw else {}
        if not isinstance(request, dict):
            request = {}
        index = request.get("index", "bench")
        if path == "/bench/stats":
            return _reply(writer, 200, self.stats.to_json())
        if path == "/bench/reset":
            self.stats = Stats()
            return _reply(writer, 200, {})
        if method == "POST" and path.endswith("/chat/completions"):
            if request.get("stream") is True:
                self.stats.requests["chat stream"] += 1
                return await self.stream(writer, index)
            self.stats.requests["chat"] += 1
            await asyncio.sleep(self.delay_s)
            return _reply(writer, 200, completion(index))
        if method == "POST" and path.endswith("/responses"):
            return await self.create(writer, index, request.get("background") is True)
        if "/responses/" in path:
            response_id = path.rsplit("/responses/", 1)[1]
            if method == "POST" and response_id.endswith("/cancel"):
                self.stats.requests["cancel"] += 1
                return _reply(writer, 200, response(response_id[:-len("/cancel")], "cancelled"))
            if method == "GET":
                return self.poll(writer, response_id)
        return _reply(writer, 404, {"error": {"message": f"no route {method} {path}"}})

    # -- background Responses --

    async def create(self, writer: asyncio.StreamWriter, index: Any, background: bool) -> None:
        self.stats.requests["create background" if background else "create"] += 1
        if not background:
            await asyncio.sleep(self.delay_s)
            return _reply(writer, 200, response(f"resp_{index}", "completed"))
        self.stats.creates[str(index)] += 1
        response_id = f"resp_{index}_{self.stats.creates[str(index)]}"
        self.stats.jobs[response_id] = {"created_at": time.time(), "polls": [],
                                        "done_at": None}
        return _reply(writer, 200, response(response_id, "queued"))

    def poll(self, writer: asyncio.StreamWriter, response_id: str) -> None:
        self.stats.requests["poll"] += 1
        job = self.stats.jobs.get(response_id)
        if job is None:
            return _reply(writer, 404, {"error": {"message": "No response found",
                                                  "type": "invalid_request_error"}})
        now = time.time()
        job["polls"].append(now)
        if len(job["polls"]) >= self.polls:
            if job["done_at"] is None:
                job["done_at"] = now
            return _reply(writer, 200, response(response_id, "completed"))
        return _reply(writer, 200, response(response_id, "in_progress"))

    # -- streams --

    async def stream(self, writer: asyncio.StreamWriter, index: Any) -> None:
        loop = asyncio.get_running_loop()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")
        one = Stream(writer, index, loop.time(), stream_pieces(index, self.chunks),
                     loop.create_future())
        self.streams.append(one)
        if self._ticker is None or self._ticker.done():
            self._ticker = asyncio.create_task(self._tick())
        await one.done

    async def _tick(self) -> None:
        """Every interval, writes each stream the chunks that are due; ends when none is left."""
        loop = asyncio.get_running_loop()
        while self.streams:
            now = loop.time()
            still = []
            for one in self.streams:
                due = min(self.chunks, int((now - one.started) / self.interval_s + 1e-9))
                if due > one.sent:
                    with contextlib.suppress(ConnectionError, RuntimeError):
                        one.writer.write(b"".join(one.pieces[one.sent:due]))
                    one.sent = due
                if one.sent < self.chunks:
                    still.append(one)
                else:
                    self.stats.last_chunk_at[str(one.index)] = time.time()
                    if not one.done.done():
                        one.done.set_result(None)
            self.streams = still
            await asyncio.sleep(self.interval_s)


def _reply(writer: asyncio.StreamWriter, status: int, value: Any) -> None:
    body = _json(value)
    reason = b"OK" if status == 200 else b"Not Found"
    writer.write(b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n%s" % (status, reason, len(body), body))


async def _main(args: argparse.Namespace) -> None:
    model = FakeModel(args.delay_ms / 1000, args.chunks, args.answer_s, args.polls)
    server = await asyncio.start_server(model.serve, "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    print(f"READY {port}", flush=True)
    async with server:
        await server.serve_forever()


class ModelServer:
    """The server in its own process; ``url`` is the OpenAI-style base URL (``…/v1``)."""

    def __init__(self, delay_ms: int = 100, *, chunks: int = 200, answer_s: float = 2.0,
                 polls: int = 3) -> None:
        self.options = ["--delay-ms", str(delay_ms), "--chunks", str(chunks),
                        "--answer-s", str(answer_s), "--polls", str(polls)]
        self.port = 0
        self._process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/bench/stats") as answer:
            return json.loads(answer.read())

    def reset(self) -> None:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/bench/reset",
                                         data=b"", method="POST")
        with urllib.request.urlopen(request) as answer:
            answer.read()

    def __enter__(self) -> ModelServer:
        self._process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), *self.options],
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self._process.stdout.readline()
        if not line.startswith("READY "):
            self._process.kill()
            raise RuntimeError(f"model server did not start: {line!r}")
        self.port = int(line.split()[1])
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--delay-ms", type=int, default=100)
    parser.add_argument("--chunks", type=int, default=200)
    parser.add_argument("--answer-s", type=float, default=2.0)
    parser.add_argument("--polls", type=int, default=3)
    cli = parser.parse_args()
    try:
        import uvloop
    except ImportError:
        uvloop = None
    with contextlib.suppress(KeyboardInterrupt):
        if uvloop is not None:
            uvloop.run(_main(cli))
        else:
            asyncio.run(_main(cli))
