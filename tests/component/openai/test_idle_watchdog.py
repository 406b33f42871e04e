"""The idle timeout of the async transport's reads (lib/openai/idle_watchdog.py): one timer
per answer, which wakes about once per idle period of a flowing stream (counted on a loop
whose time the test moves), and a real server that goes silent mid-stream is timed out
by it, with a handful of timers armed for a stream of many chunks."""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from lib.openai.aiohttp_transport import AiohttpTransport
from lib.openai.async_client import AsyncOpenAIClient
from lib.openai.errors import APITimeoutError
from lib.openai.idle_watchdog import IdleWatchdog
from lib.openai.limits import CallLimits
from tests.component.openai.test_async_client import (
    CHUNKS,
    HELLO,
    chat,
    make_client,
    released,
    run,
    sse,
)
from tests.support.hostile_server import HostileServer, stream_headers


class ManualTimer:
    def __init__(self, when: float, callback: Callable[[], object]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualLoop:
    """A loop whose time the test moves; due timers run when it does."""

    def __init__(self) -> None:
        self.now = 0.0
        self.timers: list[ManualTimer] = []

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Callable[[], object], /) -> ManualTimer:
        timer = ManualTimer(when, callback)
        self.timers.append(timer)
        return timer

    def advance(self, seconds: float) -> None:
        self.now += seconds
        while due := [t for t in self.timers if t.when <= self.now and not t.cancelled]:
            for timer in due:
                self.timers.remove(timer)
                timer.callback()


class Idle:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> None:
        self.calls += 1


def test_a_flowing_stream_wakes_the_watchdog_once_per_idle_period_not_per_chunk() -> None:
    loop, idle = ManualLoop(), Idle()
    watchdog = IdleWatchdog(loop, 1.0, idle)
    for _ in range(1000):  # 10 s of chunks 10 ms apart, each read waiting the whole 10 ms
        watchdog.since = loop.time()
        loop.advance(0.01)
        watchdog.since = None
    assert idle.calls == 0
    assert 9 <= watchdog.wakeups <= 11
    assert len([t for t in loop.timers if not t.cancelled]) == 1


def test_a_wait_that_reaches_the_idle_period_ends_once() -> None:
    loop, idle = ManualLoop(), Idle()
    watchdog = IdleWatchdog(loop, 1.0, idle)
    loop.advance(0.7)  # not reading: nothing is timed
    watchdog.since = loop.time()
    loop.advance(0.9)
    assert idle.calls == 0  # the wait began 0.9 s ago
    loop.advance(0.1)
    assert idle.calls == 1
    loop.advance(10.0)
    assert idle.calls == 1  # no timer left
    assert not [t for t in loop.timers if not t.cancelled]


def test_a_stopped_watchdog_never_fires() -> None:
    loop, idle = ManualLoop(), Idle()
    watchdog = IdleWatchdog(loop, 1.0, idle)
    watchdog.since = loop.time()
    watchdog.stop()
    loop.advance(5.0)
    assert idle.calls == 0
    assert watchdog.wakeups == 0


class LookingClock:
    """The client's clock, read once per piece read; the server sends the next piece once
    the client has looked (so that each piece arrives on its own)."""

    def __init__(self) -> None:
        self.looks = 0
        self._looked = threading.Condition()

    def __call__(self) -> float:
        with self._looked:
            self.looks += 1
            self._looked.notify_all()
            return float(self.looks)

    def wait_for(self, looks: int) -> None:
        with self._looked:
            assert self._looked.wait_for(lambda: self.looks >= looks, timeout=10)


def counting_timers(call: Callable[[AsyncOpenAIClient], Any],
                    armed: list[int]) -> Callable[[AsyncOpenAIClient], Any]:
    """`call`, with the timers armed on the loop while it runs counted into `armed`."""
    async def counted(client: AsyncOpenAIClient) -> Any:
        loop = asyncio.get_running_loop()
        call_at = loop.call_at

        def counting(when: float, callback: Any, *args: Any, **kwargs: Any) -> Any:
            armed[0] += 1
            return call_at(when, callback, *args, **kwargs)

        loop.call_at = counting  # type: ignore[method-assign]
        try:
            return await call(client)
        finally:
            loop.call_at = call_at  # type: ignore[method-assign]

    return counted


def test_a_stream_of_many_chunks_arms_a_handful_of_timers() -> None:
    clock = LookingClock()
    pieces = 60

    def chunks(handler: BaseHTTPRequestHandler) -> None:
        stream_headers(handler)
        for index in range(pieces):
            looks = clock.looks
            server.send(handler, sse(CHUNKS[0], done=index == pieces - 1))
            clock.wait_for(looks + 2)  # the piece read, the deadline looked at again

    armed = [0]
    with HostileServer(chunks) as server:
        answer = run(make_client(server.url, monotonic=clock,
                                 limits=CallLimits(min_total_deadline_s=1e9)),
                     counting_timers(chat({"model": "m", "stream": True, **HELLO},
                                          timeout_s=30), armed))
    assert answer["choices"][0]["message"]["content"] == "po" * pieces
    assert armed[0] < 10  # aiohttp's sock_read armed one per piece: > 60


def test_a_server_silent_after_some_chunks_is_timed_out_by_the_watchdog() -> None:
    hold = threading.Event()

    def silent(handler: BaseHTTPRequestHandler) -> None:
        stream_headers(handler)
        for _ in range(3):
            server.send(handler, sse(CHUNKS[0], done=False))
        hold.wait(10)

    with HostileServer(silent) as server, released(hold), pytest.raises(
            APITimeoutError, match=r"No data for more than 0\.2 s"):
        run(make_client(server.url), chat({"model": "m", "stream": True, **HELLO},
                                          timeout_s=0.2))


def test_an_answer_read_and_closed_is_freed_without_the_collector() -> None:
    """The watchdog holds the body's reader, not the answer: no reference cycle keeps an
    answer (and its buffers) until the collector's next pass."""
    def one_answer(handler: BaseHTTPRequestHandler) -> None:
        stream_headers(handler)
        server.send(handler, sse(CHUNKS[0]))

    async def read_and_drop(url: str) -> int:
        transport = AiohttpTransport(url)
        try:
            answer = await transport.send("GET", url + "/x", data=None, headers={},
                                          connect_timeout_s=5, read_timeout_s=5)
            while await answer.read():
                pass
            answer.close()
            gc.collect()
            gc.disable()
            try:
                del answer
                return gc.collect()  # what only the collector would have freed
            finally:
                gc.enable()
        finally:
            await transport.aclose()

    with HostileServer(one_answer) as server:
        assert asyncio.run(read_and_drop(server.url)) == 0
