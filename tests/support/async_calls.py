"""Calls of the async client (lib/openai/async_client.py) from a sync test: each on a
fresh event loop, the client closed after; against a real server on 127.0.0.1 (aiohttp),
or served from the `responses` registry (the tests' transport on `requests`)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from lib.openai.async_client import AsyncOpenAIClient
from lib.openai.chat import create_chat_completion
from tests.support.requests_transport import RequestsTransport

Call = Callable[[AsyncOpenAIClient], Awaitable[Any]]


def run(client: AsyncOpenAIClient, call: Call) -> Any:
    """`call(client)` on a fresh event loop; the client's connections closed after."""
    async def main() -> Any:
        try:
            return await call(client)
        finally:
            await client.aclose()

    return asyncio.run(main())


def chat(body: dict[str, Any], **kwargs: Any) -> Call:
    """A chat completion of `body` (`kwargs`: timeout_s, logger, stop)."""
    return lambda client: create_chat_completion(client, body, **kwargs)


def complete(client: AsyncOpenAIClient, body: dict[str, Any], **kwargs: Any) -> Any:
    """`chat(body, **kwargs)` run with `client`: the completion."""
    return run(client, chat(body, **kwargs))


def registry_client(api_key: str, base_url: str, **kwargs: Any) -> AsyncOpenAIClient:
    """An async client whose requests the `responses` registry answers."""
    return AsyncOpenAIClient(api_key, base_url=base_url,
                             transport=RequestsTransport(base_url), **kwargs)
