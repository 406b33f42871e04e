"""Send Request is an ``async def``: the sailor runs it on its event loop, with no worker
thread, and its stream is read by the loop, event by event, as the server sends it (the
real transport, aiohttp, against a server on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from elasticio_sailor.invoke import call_component

from lib.actions import send_request
from lib.openai import chat
from lib.openai.async_client import close_async_clients
from tests.support.action_support import FakeSelf, cfg
from tests.support.hostile_server import HostileServer, stream_headers

CHUNKS = 5


class NoThreads(ThreadPoolExecutor):
    """A pool that refuses work: whatever asks it for a thread (the loop's default pool
    included: asyncio.to_thread, DNS lookups) fails the test."""

    def submit(self, *_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("a worker thread was asked for")


def chunk(n: int) -> dict[str, Any]:
    return {"id": "chatcmpl-l", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": {"content": str(n)},
                         "finish_reason": "stop" if n == CHUNKS - 1 else None}]}


def test_a_streamed_send_request_runs_on_the_loop_and_reads_each_event_as_it_comes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    read = threading.Event()
    readers: list[int] = []
    acknowledged: list[bool] = []
    add = chat.ChatStreamReader.add

    def add_and_tell(self: chat.ChatStreamReader, event: Any) -> bool:
        readers.append(threading.get_ident())
        read.set()
        return add(self, event)

    monkeypatch.setattr(chat.ChatStreamReader, "add", add_and_tell)

    def one_event_at_a_time(handler: BaseHTTPRequestHandler) -> None:
        stream_headers(handler)
        for n in range(CHUNKS):
            read.clear()
            server.send(handler, f"data: {json.dumps(chunk(n))}\n\n".encode())
            acknowledged.append(read.wait(10))  # the client read it before the next is sent
        server.send(handler, b"data: [DONE]\n\n")

    async def main() -> Any:
        asyncio.get_running_loop().set_default_executor(NoThreads())
        try:
            return await call_component(
                send_request.process, FakeSelf(),
                {"id": "m1", "body": {"stream": True, "messages": [
                    {"role": "user", "content": "count"}]}},
                cfg(baseUrl=server.url), {}, pool=NoThreads())
        finally:
            await close_async_clients()

    with HostileServer(one_event_at_a_time) as server:
        result = asyncio.run(main())
    assert result["body"]["choices"][0]["message"]["content"] == "01234"
    assert acknowledged == [True] * CHUNKS
    assert set(readers) == {threading.get_ident()}  # the loop's thread: this one
    assert len(readers) == CHUNKS + 1  # every event, [DONE] included


def test_send_request_is_an_async_process() -> None:
    """What the sailor looks at to run it on its loop (elasticio_sailor.invoke)."""
    assert asyncio.iscoroutinefunction(send_request.process)
