"""A streamed answer gives its connection back to the pool once its last event is read
(lib/openai/async_client.py: AsyncEventStream.release), so streamed calls reuse
connections as non-streamed ones do; a server that keeps the body open after the last
event costs one bounded wait and a closed connection, never the answer. (Chat streams:
test_async_client.py, "connections".)"""

from __future__ import annotations

import asyncio

from lib.openai.async_client import AsyncOpenAIClient
from lib.openai.limits import CallLimits
from lib.openai.responses import create_response
from tests.support.async_calls import complete
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


def test_a_body_that_trickles_on_after_the_last_event_is_not_read_for_long() -> None:
    """The drain stops once its time has passed, however often the server sends a little
    (without that budget the 64 KiB of 7-byte pings would take minutes)."""
    streaming = StreamingServer(CHAT_EVENTS, end_body=False, trickle=True)
    with streaming.server as server:
        client = AsyncOpenAIClient("sk-test", base_url=server.url,
                                   limits=CallLimits(drain_timeout_s=0.05))
        body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "x"}]}
        try:
            answer = complete(client, body, timeout_s=5)
        finally:
            streaming.release_hold.set()
    assert answer["choices"][0]["message"]["content"] == "pong"
