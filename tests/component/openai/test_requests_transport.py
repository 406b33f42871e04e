"""The tests' transport for the async client (tests/support/requests_transport.py, put in
place by the `fresh_clients` fixture): calls of the async client are served from the
`responses` registry, as the sync client's are, and keep the client's semantics."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import requests
import responses

from lib.openai.async_client import close_async_clients, get_async_client
from lib.openai.chat import create_chat_completion
from lib.openai.errors import APIConnectionError, NotResentError
from tests.support.action_support import API_KEY, BASE_URL, COMPLETIONS_URL, completion

pytestmark = pytest.mark.usefixtures("fresh_clients")
BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}


def call(body: dict[str, Any], **kwargs: Any) -> Any:
    async def main() -> Any:
        try:
            client = get_async_client(api_key=API_KEY, base_url=BASE_URL)
            return await create_chat_completion(client, body, **kwargs)
        finally:
            await close_async_clients()

    return asyncio.run(main())


@responses.activate
def test_a_call_is_served_from_the_registry_after_a_retry() -> None:
    responses.post(COMPLETIONS_URL, status=500, json={"error": {"message": "busy"}})
    responses.post(COMPLETIONS_URL, json=completion("Hello!"))
    assert call(BODY) == completion("Hello!")
    assert len(responses.calls) == 2
    sent = responses.calls[1].request
    assert sent.headers["Authorization"] == f"Bearer {API_KEY}"
    assert json.loads(sent.body) == BODY


@responses.activate
def test_a_stream_is_served_from_the_registry() -> None:
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
             "choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": "stop"}]}
    responses.post(COMPLETIONS_URL, content_type="text/event-stream",
                   body=f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n")
    result = call({**BODY, "stream": True})
    assert result["choices"][0]["message"]["content"] == "Hi"


@responses.activate
def test_a_connection_failure_keeps_the_clients_semantics() -> None:
    responses.post(COMPLETIONS_URL, body=requests.ConnectionError("reset by peer"))
    with pytest.raises(APIConnectionError) as caught:
        call(BODY)
    assert caught.value.attempts == 3
    assert not isinstance(caught.value, NotResentError)
