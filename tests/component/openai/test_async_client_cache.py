"""The async clients kept per event loop (lib/openai/async_client.py, get_async_client):
past MAX_CACHED_CLIENTS credentials on one loop the least recently used client is dropped,
and closed once the calls it has in flight have ended (a stream: once it is closed), so
that its connections do not linger and aiohttp has no unclosed session to warn about."""

from __future__ import annotations

import asyncio
import gc
import json
import warnings
from collections.abc import Mapping
from typing import Any

import pytest

from lib.openai import async_client as async_client_module
from lib.openai.async_client import (
    MAX_CACHED_CLIENTS,
    AsyncEventStream,
    AsyncOpenAIClient,
    close_async_clients,
    get_async_client,
)
from tests.support.hostile_server import HostileServer, answer

KEY = "sk-cache-0123456789abcdefSECRET"
STREAM_PATH = "/stream"


class Answer:
    """An answer of the fake transport: JSON, or the head of an event stream."""

    def __init__(self, url: str) -> None:
        self.status = 200
        streamed = url.endswith(STREAM_PATH)
        self.headers: Mapping[str, str] = {
            "Content-Type": "text/event-stream" if streamed else "application/json"}
        self._body = [b"data: {}\n\n"] if streamed else [b"{}"]

    async def read(self) -> bytes:
        return self._body.pop() if self._body else b""

    def close(self) -> None:
        pass


class FakeTransport:
    """Counts its sends and its closes; a close is awaited through `closed`."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.sends = 0
        self.closes = 0
        self.closed = asyncio.Event()

    async def send(self, method: str, url: str, **_kwargs: Any) -> Answer:
        self.sends += 1
        return Answer(url)

    async def aclose(self) -> None:
        self.closes += 1
        self.closed.set()


@pytest.fixture
def fake_transports(monkeypatch: pytest.MonkeyPatch) -> list[FakeTransport]:
    made: list[FakeTransport] = []

    def make(base_url: str) -> FakeTransport:
        made.append(FakeTransport(base_url))
        return made[-1]

    monkeypatch.setattr(async_client_module, "new_transport", make)
    return made


def client_for(number: int) -> AsyncOpenAIClient:
    return get_async_client(api_key=KEY, base_url=f"http://127.0.0.1:{number + 1}/v1")


async def closes_scheduled() -> None:
    """Waits for the closes the cache has scheduled (none: returns at once)."""
    if async_client_module._background:
        await asyncio.wait(async_client_module._background, timeout=10)


def test_a_dropped_client_without_calls_is_closed(fake_transports: list[FakeTransport]) -> None:
    async def main() -> None:
        first = client_for(0)
        for number in range(1, MAX_CACHED_CLIENTS):
            client_for(number)
        await closes_scheduled()
        assert fake_transports[0].closes == 0  # still cached: 16 clients
        client_for(MAX_CACHED_CLIENTS)  # the 17th drops the least recently used
        await asyncio.wait_for(fake_transports[0].closed.wait(), 10)
        assert client_for(0) is not first  # made anew
        await close_async_clients()

    asyncio.run(main())
    assert fake_transports[0].closes == 1
    assert all(transport.closes == 1 for transport in fake_transports)


def test_a_dropped_client_is_closed_once_its_calls_have_ended(
        fake_transports: list[FakeTransport]) -> None:
    async def main() -> None:
        first = client_for(0)
        stream = await first.post_for_events(STREAM_PATH, {"stream": True}, timeout_s=5)
        assert isinstance(stream, AsyncEventStream)
        async with stream:
            for number in range(1, MAX_CACHED_CLIENTS + 1):
                client_for(number)  # the 17th drops `first`, its stream still open
            await closes_scheduled()
            assert fake_transports[0].closes == 0  # not under the open stream
            assert [event.data async for event in stream.events] == ["{}"]
        await asyncio.wait_for(fake_transports[0].closed.wait(), 10)
        assert fake_transports[0].closes == 1

        # a holder of the dropped client may call it again: new connections, closed after
        assert await first.request_json("GET", "/models", timeout_s=5) == {}
        await closes_scheduled()
        assert (fake_transports[0].sends, fake_transports[0].closes) == (2, 2)
        await close_async_clients()

    asyncio.run(main())


def test_a_cached_client_in_use_is_not_closed(fake_transports: list[FakeTransport]) -> None:
    async def main() -> None:
        first = client_for(0)
        for number in range(1, MAX_CACHED_CLIENTS + 1):
            await first.request_json("GET", "/models", timeout_s=5)
            assert client_for(0) is first  # used last: the others are dropped first
            client_for(number)
        await closes_scheduled()
        assert fake_transports[0].closes == 0
        assert fake_transports[1].closes == 1
        await close_async_clients()

    asyncio.run(main())


def test_a_dropped_aiohttp_client_leaves_no_unclosed_session() -> None:
    """Against a real server: the dropped client's aiohttp session (and its kept-alive
    connection) is closed, and nothing is left for aiohttp to warn about."""
    def ok(handler: Any) -> None:
        answer(handler, 200, json.dumps({"object": "list", "data": []}).encode())

    with HostileServer(ok) as server, warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")

        async def main() -> Any:
            first = get_async_client(api_key=KEY, base_url=server.url)
            await first.request_json("GET", "/models", timeout_s=5)
            session = first._transport._session  # type: ignore[attr-defined]
            for number in range(MAX_CACHED_CLIENTS):
                client_for(number)
            await closes_scheduled()
            await close_async_clients()
            return session

        session = asyncio.run(main())
        assert session.closed
        del session
        gc.collect()
    assert [str(w.message) for w in seen if "nclosed" in str(w.message)] == []
