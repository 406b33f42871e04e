"""The client's retries end to end, over faked HTTP, with an injected sleep and clock."""

from __future__ import annotations

import email.utils
import json
import logging

import pytest
import requests
import responses

from lib.errors import UserError
from lib.openai.client import OpenAIClient
from lib.openai.errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    InsufficientQuotaError,
    InternalServerError,
    OpenAIError,
    RateLimitError,
    RetryLaterError,
)
from lib.openai.paths import CHAT_COMPLETIONS_PATH
from lib.openai.retry import MAX_RETRIES, RetryPolicy
from tests.support.openapi_contract import validate

API_KEY = "sk-test-retry-0123456789SECRET"
BASE_URL = "http://127.0.0.1:8080/v1"
URL = f"{BASE_URL}/chat/completions"
NOW = 1_800_000_000.0
BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}
COMPLETION = {
    "id": "chatcmpl-2", "object": "chat.completion", "created": 1741569952,
    "model": "gpt-4o-mini",
    "choices": [{"index": 0, "logprobs": None, "finish_reason": "stop",
                 "message": {"role": "assistant", "content": "Hi!", "refusal": None}}],
}


def api_error(message: str, type_: str, code: str | None = None) -> dict:
    body = {"error": {"message": message, "type": type_, "param": None, "code": code}}
    validate("ErrorResponse", body)
    return body


SERVER_ERROR = api_error("The server had an error.", "server_error")
RATE_LIMIT = api_error("Rate limit reached for requests.", "requests", "rate_limit_exceeded")
QUOTA = api_error("You exceeded your current quota.", "insufficient_quota", "insufficient_quota")


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def client(sleeps: Sleeps) -> OpenAIClient:
    policy = RetryPolicy(sleep=sleeps, clock=lambda: NOW, random=lambda: 0.0)
    return OpenAIClient(API_KEY, base_url=BASE_URL, retry_policy=policy)


def test_fixtures_match_the_official_document() -> None:
    validate("CreateChatCompletionRequest", BODY)
    validate("CreateChatCompletionResponse", COMPLETION)


@responses.activate
def test_three_500s_then_the_error(client: OpenAIClient, sleeps: Sleeps) -> None:
    for _ in range(3):
        responses.post(URL, status=500, json=SERVER_ERROR, headers={"x-request-id": "req_5"})
    with pytest.raises(InternalServerError) as caught:
        client.request_json("POST", CHAT_COMPLETIONS_PATH, BODY)
    assert len(responses.calls) == MAX_RETRIES + 1 == 3
    assert sleeps == [0.5, 1.0]
    assert caught.value.request_id == "req_5"
    assert not isinstance(caught.value, UserError)


@responses.activate
def test_two_500s_then_success(client: OpenAIClient, sleeps: Sleeps) -> None:
    responses.post(URL, status=500, json=SERVER_ERROR)
    responses.post(URL, status=502, body="<html>Bad gateway</html>")
    responses.post(URL, json=COMPLETION)
    assert client.request_json("POST", CHAT_COMPLETIONS_PATH, BODY) == COMPLETION
    assert len(responses.calls) == 3
    assert sleeps == [0.5, 1.0]
    for call in responses.calls:  # every retry sends the same, valid body
        validate("CreateChatCompletionRequest", json.loads(call.request.body))


@pytest.mark.parametrize(("status", "body", "expected"), [
    (400, api_error("Bad.", "invalid_request_error"), BadRequestError),
    (401, api_error("Bad key.", "invalid_request_error", "invalid_api_key"), AuthenticationError),
    (429, QUOTA, InsufficientQuotaError),
])
@responses.activate
def test_user_errors_are_not_retried(client: OpenAIClient, sleeps: Sleeps, status: int,
                                     body: dict, expected: type) -> None:
    responses.post(URL, status=status, json=body)
    with pytest.raises(expected) as caught:
        client.request_json("POST", CHAT_COMPLETIONS_PATH, BODY)
    assert len(responses.calls) == 1
    assert sleeps == []
    assert isinstance(caught.value, UserError)


@responses.activate
def test_a_rate_limit_is_retried(client: OpenAIClient, sleeps: Sleeps) -> None:
    responses.post(URL, status=429, json=RATE_LIMIT)
    responses.post(URL, json=COMPLETION)
    assert client.request_json("POST", CHAT_COMPLETIONS_PATH, BODY) == COMPLETION
    assert sleeps == [0.5]


@responses.activate
def test_rate_limit_after_all_retries_is_a_rate_limit_error(client: OpenAIClient) -> None:
    for _ in range(3):
        responses.post(URL, status=429, json=RATE_LIMIT, headers={"retry-after": "2"})
    with pytest.raises(RateLimitError) as caught:
        client.request_json("POST", CHAT_COMPLETIONS_PATH, BODY)
    assert not isinstance(caught.value, InsufficientQuotaError)


@responses.activate
def test_x_should_retry_false_stops_a_500(client: OpenAIClient, sleeps: Sleeps) -> None:
    responses.post(URL, status=500, json=SERVER_ERROR, headers={"x-should-retry": "false"})
    with pytest.raises(InternalServerError):
        client.request_json("POST", CHAT_COMPLETIONS_PATH, BODY)
    assert len(responses.calls) == 1


@responses.activate
def test_x_should_retry_true_retries_a_400(client: OpenAIClient, sleeps: Sleeps) -> None:
    responses.post(URL, status=400, json=api_error("Try again.", "invalid_request_error"),
                   headers={"x-should-retry": "true"})
    responses.post(URL, json=COMPLETION)
    assert client.request_json("POST", CHAT_COMPLETIONS_PATH, BODY) == COMPLETION
    assert len(responses.calls) == 2


@responses.activate
def test_retry_after_ms_is_honoured(client: OpenAIClient, sleeps: Sleeps) -> None:
    responses.post(URL, status=429, json=RATE_LIMIT,
                   headers={"retry-after-ms": "1250", "retry-after": "2"})
    responses.post(URL, json=COMPLETION)
    client.request_json("POST", CHAT_COMPLETIONS_PATH, BODY)
    assert sleeps == [1.25]


@responses.activate
def test_retry_after_seconds_is_honoured(client: OpenAIClient, sleeps: Sleeps) -> None:
    responses.post(URL, status=503, json=SERVER_ERROR, headers={"retry-after": "7"})
    responses.post(URL, json=COMPLETION)
    client.request_json("POST", CHAT_COMPLETIONS_PATH, BODY)
    assert sleeps == [7.0]


@responses.activate
def test_retry_after_http_date_is_honoured(client: OpenAIClient, sleeps: Sleeps) -> None:
    when = email.utils.formatdate(NOW + 12, usegmt=True)
    responses.post(URL, status=429, json=RATE_LIMIT, headers={"retry-after": when})
    responses.post(URL, json=COMPLETION)
    client.request_json("POST", CHAT_COMPLETIONS_PATH, BODY)
    assert sleeps == [12.0]


@responses.activate
def test_a_long_retry_after_asks_for_a_rebound(client: OpenAIClient, sleeps: Sleeps) -> None:
    responses.post(URL, status=429, json=RATE_LIMIT,
                   headers={"retry-after": "300", "x-request-id": "req_r"})
    with pytest.raises(RetryLaterError) as caught:
        client.request_json("POST", CHAT_COMPLETIONS_PATH, BODY)
    assert caught.value.retry_after_s == 300.0
    assert isinstance(caught.value.cause, RateLimitError)
    assert caught.value.request_id == "req_r"
    assert sleeps == []
    assert len(responses.calls) == 1


@responses.activate
def test_a_long_retry_after_on_a_quota_error_is_not_a_rebound(client: OpenAIClient) -> None:
    responses.post(URL, status=429, json=QUOTA, headers={"retry-after": "3600"})
    with pytest.raises(InsufficientQuotaError):
        client.request_json("POST", CHAT_COMPLETIONS_PATH, BODY)


@responses.activate
def test_connection_errors_are_retried(client: OpenAIClient, sleeps: Sleeps) -> None:
    responses.post(URL, body=requests.ConnectionError("Connection refused"))
    responses.post(URL, json=COMPLETION)
    assert client.request_json("POST", CHAT_COMPLETIONS_PATH, BODY) == COMPLETION
    assert sleeps == [0.5]


@responses.activate
def test_connection_error_after_all_retries(client: OpenAIClient, sleeps: Sleeps) -> None:
    responses.post(URL, body=requests.ConnectionError("Connection refused"))
    with pytest.raises(APIConnectionError, match="could not connect") as caught:
        client.request_json("POST", CHAT_COMPLETIONS_PATH, BODY)
    assert len(responses.calls) == 3
    assert not isinstance(caught.value, APITimeoutError)
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None  # the request (with its headers) is not kept


@responses.activate
def test_timeouts_are_retried_then_raised(client: OpenAIClient, sleeps: Sleeps) -> None:
    responses.post(URL, body=requests.ReadTimeout("Read timed out. (read timeout=60)"))
    with pytest.raises(APITimeoutError, match="no answer within 60 s") as caught:
        client.request_json("POST", CHAT_COMPLETIONS_PATH, BODY, timeout_s=60)
    assert len(responses.calls) == 3
    assert sleeps == [0.5, 1.0]
    assert not isinstance(caught.value, UserError)


@responses.activate
def test_connect_and_read_timeouts_are_separate(sleeps: Sleeps) -> None:
    client = OpenAIClient(API_KEY, base_url=BASE_URL, connect_timeout_s=3.0)
    responses.post(URL, json=COMPLETION)
    client.request_json("POST", CHAT_COMPLETIONS_PATH, BODY, timeout_s=42)
    assert responses.calls[0].request.req_kwargs["timeout"] == (3.0, 42)


@responses.activate
def test_the_key_never_appears_in_errors_or_logs(
    sleeps: Sleeps, caplog: pytest.LogCaptureFixture,
) -> None:
    client = OpenAIClient(API_KEY, base_url=BASE_URL,
                          retry_policy=RetryPolicy(sleep=sleeps, random=lambda: 0.0))
    echoed = api_error(f"Incorrect API key provided: {API_KEY}", "invalid_request_error",
                       "invalid_api_key")
    failures: list[OpenAIError] = []
    with caplog.at_level(logging.DEBUG):
        for body in (requests.ConnectionError(f"failed for {URL}?key={API_KEY}"), None):
            responses.reset()
            if body is None:
                responses.post(URL, status=401, json=echoed)
            else:
                responses.post(URL, body=body)
            with pytest.raises(OpenAIError) as caught:
                client.request_json("POST", CHAT_COMPLETIONS_PATH, BODY)
            failures.append(caught.value)
    assert [type(error) for error in failures] == [APIConnectionError, AuthenticationError]
    for error in failures:
        for text in (str(error), repr(error), error.message, str(error.args)):
            assert API_KEY not in text
    assert API_KEY not in caplog.text
    assert "could not connect" in caplog.text  # the retry lines were logged, scrubbed
