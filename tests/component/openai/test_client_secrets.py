"""Answers of a misconfigured or echoing server must not put the API
key into an error message (the message is published and may be logged)."""

from __future__ import annotations

import pytest
import responses

from lib.openai.chat import create_chat_completion
from lib.openai.client import OpenAIClient
from lib.openai.errors import OpenAIError
from lib.openai.retry import RetryPolicy

API_KEY = "sk-proj-REVIEWKEY0123456789SECRET"
URL = "https://proxy.example.com/v1/chat/completions"
BODY = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def client() -> OpenAIClient:
    return OpenAIClient(API_KEY, base_url="https://proxy.example.com/v1",
                        retry_policy=RetryPolicy(sleep=lambda _s: None))


@pytest.mark.parametrize(("stream", "content_type", "text"), [
    # HTTP 200 with an HTML page that echoes the request's headers
    (False, "text/html", f"<html>Authorization: Bearer {API_KEY}</html>"),
    # an error event inside the stream that quotes the key
    (True, "text/event-stream",
     'data: {"error": {"message": "invalid key ' + API_KEY + '"}}\n\n'),
    # stream data that is not JSON
    (True, "text/event-stream", f"data: Bearer {API_KEY}\n\n"),
])
@responses.activate
def test_the_key_never_reaches_the_error_message(
        stream: bool, content_type: str, text: str) -> None:
    responses.add("POST", URL, body=text, status=200, content_type=content_type)
    with pytest.raises(OpenAIError) as caught:
        create_chat_completion(client(), {**BODY, "stream": stream})
    assert API_KEY not in str(caught.value)
    assert "***" in str(caught.value)
