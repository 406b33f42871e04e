"""A streamed answer gives its connection back to the pool once its last event is read
(lib/openai/client.py: EventStream.release; the async client's AsyncEventStream.release),
so streamed calls reuse connections as non-streamed ones do; a server that keeps the body
open after the last event costs one bounded wait and a closed connection, never the
answer."""

from __future__ import annotations

import asyncio

from lib.openai.async_client import AsyncOpenAIClient
from lib.openai.chat import create_chat_completion
from lib.openai.client import OpenAIClient
from lib.openai.limits import CallLimits
from lib.openai.responses import create_response
from tests.support.streaming_server import StreamingServer

CHAT_EVENTS = [
    {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m",
     "choices": [{"index": 0, "delta": {"role": "assistant", "content": "po"},
                  "finish_reason": None}]},
    {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m",
     "choices": [{"index": 0, "delta": {"content": "ng"}, "finish_reason": "stop"}]},
]
RESPONSE = {"id": "resp_1", "object": "response", "created_at": 1, "model": "m",
            "status": "completed", "output": []}
RESPONSE_EVENTS = [{"type": "response.created", "response": {**RESPONSE, "status": "in_progress"}},
                   {"type": "response.completed", "response": RESPONSE}]


def test_streamed_chat_calls_reuse_one_connection() -> None:
    streaming = StreamingServer(CHAT_EVENTS)
    with streaming.server as server:
        client = OpenAIClient("sk-test", base_url=server.url)
        answers = [create_chat_completion(client, {"model": "m", "stream": True,
                                                   "messages": [{"role": "user", "content": "x"}]},
                                          timeout_s=5) for _ in range(3)]
        client.close()
    assert [a["choices"][0]["message"]["content"] for a in answers] == ["pong"] * 3
    assert len(streaming.ports) == 3
    assert len(set(streaming.ports)) == 1


def test_streamed_responses_reuse_one_connection() -> None:
    streaming = StreamingServer(RESPONSE_EVENTS)
    with streaming.server as server:
        async def two_calls() -> list[dict]:
            client = AsyncOpenAIClient("sk-test", base_url=server.url)
            try:
                return [await create_response(client, {"model": "m", "stream": True,
                                                       "input": "x"}, timeout_s=5)
                        for _ in range(2)]
            finally:
                await client.aclose()

        answers = asyncio.run(two_calls())
    assert [a["status"] for a in answers] == ["completed"] * 2
    assert len(set(streaming.ports)) == 1


def test_a_body_left_open_after_the_last_event_costs_a_new_connection_not_the_answer() -> None:
    streaming = StreamingServer(CHAT_EVENTS, end_body=False)
    with streaming.server as server:
        client = OpenAIClient("sk-test", base_url=server.url,
                              limits=CallLimits(drain_timeout_s=0.05))
        body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "x"}]}
        first = create_chat_completion(client, body, timeout_s=5)
        second = create_chat_completion(client, body, timeout_s=5)
        streaming.release_hold.set()
        client.close()
    assert first["choices"][0]["message"]["content"] == "pong"
    assert second["choices"][0]["message"]["content"] == "pong"
    assert len(set(streaming.ports)) == 2  # the held connection was closed, not reused


def test_a_body_that_trickles_on_after_the_last_event_is_not_read_for_long() -> None:
    """Each read is short, but the reads stop once the drain's time has passed (without
    that budget the 64 KiB of 7-byte pings would take minutes)."""
    streaming = StreamingServer(CHAT_EVENTS, end_body=False, trickle=True)
    with streaming.server as server:
        client = OpenAIClient("sk-test", base_url=server.url,
                              limits=CallLimits(drain_timeout_s=0.05))
        body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "x"}]}
        answer = create_chat_completion(client, body, timeout_s=5)
        streaming.release_hold.set()
        client.close()
    assert answer["choices"][0]["message"]["content"] == "pong"
