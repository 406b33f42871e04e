"""Answers of a misconfigured or echoing server must not put the API
key into an error message (the message is published and may be logged): a non-streamed
answer through either client, a stream through the async one (the only one that reads
streams; served from the `responses` registry)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import responses

from lib.openai.client import OpenAIClient
from lib.openai.errors import OpenAIError
from lib.openai.paths import CHAT_COMPLETIONS_PATH
from lib.openai.retry import RetryPolicy
from tests.support.async_calls import complete, registry_client

API_KEY = "sk-proj-REVIEWKEY0123456789SECRET"
URL = "https://proxy.example.com/v1/chat/completions"
BODY = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


BASE_URL = "https://proxy.example.com/v1"
POLICY = RetryPolicy(sleep=lambda _s: None)


def sync_call(body: dict) -> object:
    client = OpenAIClient(API_KEY, base_url=BASE_URL, retry_policy=POLICY)
    return client.request_json("POST", CHAT_COMPLETIONS_PATH, body)


def async_call(body: dict) -> object:
    return complete(registry_client(API_KEY, BASE_URL, retry_policy=POLICY), body)


@pytest.mark.parametrize(("call", "stream", "content_type", "text"), [
    # HTTP 200 with an HTML page that echoes the request's headers
    (sync_call, False, "text/html", f"<html>Authorization: Bearer {API_KEY}</html>"),
    (async_call, False, "text/html", f"<html>Authorization: Bearer {API_KEY}</html>"),
    # an error event inside the stream that quotes the key
    (async_call, True, "text/event-stream",
     'data: {"error": {"message": "invalid key ' + API_KEY + '"}}\n\n'),
    # stream data that is not JSON
    (async_call, True, "text/event-stream", f"data: Bearer {API_KEY}\n\n"),
])
@responses.activate
def test_the_key_never_reaches_the_error_message(
        call: Callable[[dict], object], stream: bool, content_type: str, text: str) -> None:
    responses.add("POST", URL, body=text, status=200, content_type=content_type)
    with pytest.raises(OpenAIError) as caught:
        call({**BODY, "stream": stream})
    assert API_KEY not in str(caught.value)
    assert "***" in str(caught.value)
