"""What an error says: after retries ran out, which timeout, a 5xx that is a validation
error, per-field details of a 400/422, and whose fault it is (told by the class)."""

from __future__ import annotations

import json

import pytest
import requests
import responses

from lib.errors import UserError
from lib.openai import errors as openai_errors
from lib.openai.client import OpenAIClient
from lib.openai.errors import (
    APIConnectionError,
    APITimeoutError,
    InternalServerError,
    OpenAIError,
    RateLimitError,
    RequestNotSentError,
    ServerValidationError,
    UnprocessableEntityError,
)
from lib.openai.paths import CHAT_COMPLETIONS_PATH
from lib.openai.retry import RetryPolicy
from tests.support.async_calls import complete, registry_client

API_KEY = "sk-test-wording-0123456789SECRET"
BASE_URL = "http://127.0.0.1:8080/v1"
URL = f"{BASE_URL}/chat/completions"
BODY = {"model": "m", "messages": [{"role": "developer", "content": "Hi"}]}
# llama.cpp's server (llama-cpp-python) answers an unknown role with 500 and pydantic's dump
LLAMA_VALIDATION_500 = {"error": {
    "code": 500, "type": "server_error",
    "message": "1 validation error for ChatCompletionRequest\nmessages.0.role\n  Input should "
               "be 'system', 'user', 'assistant', 'tool' or 'function' [type=literal_error, "
               "input_value='developer', input_type=str]"}}


def client(**kwargs: object) -> OpenAIClient:
    policy = RetryPolicy(sleep=lambda _s: None, random=lambda: 0.0)
    return OpenAIClient(API_KEY, base_url=BASE_URL, retry_policy=policy, **kwargs)


def fail_three_times(**reply: object) -> OpenAIError:
    for _ in range(3):
        responses.post(URL, **reply)
    with pytest.raises(OpenAIError) as caught:
        client().request_json("POST", CHAT_COMPLETIONS_PATH, BODY)
    assert len(responses.calls) == 3
    return caught.value


@responses.activate
def test_server_errors_after_the_retries_say_tried_and_transient() -> None:
    error = fail_three_times(status=503, json={"error": {"message": "Overloaded.",
                                                         "type": "server_error"}})
    assert type(error) is InternalServerError
    assert str(error) == ("Overloaded. (status 503, type server_error). Tried 3 times; server "
                          "errors are usually transient: the message can be retried later")


@responses.activate
def test_rate_limits_after_the_retries_say_what_to_do() -> None:
    error = fail_three_times(status=429, json={"error": {
        "message": "Rate limit reached.", "type": "requests", "code": "rate_limit_exceeded"}})
    assert isinstance(error, RateLimitError)
    assert "Tried 3 times; rate limits are transient: lower the step's prefetch" in str(error)
    assert "check the account's rate limits" in str(error)


@responses.activate
def test_a_read_timeout_names_the_request_timeout() -> None:
    error = fail_three_times(body=requests.ReadTimeout("Read timed out."))
    assert isinstance(error, APITimeoutError)
    assert "no answer within 60 s (the step's Request timeout)" in str(error)
    assert ("Tried 3 times; timeouts are usually transient: raise the step's Request "
            "timeout, or send stream: true") in str(error)


@responses.activate
def test_a_connect_timeout_names_the_connect_timeout() -> None:
    error = fail_three_times(body=requests.ConnectTimeout("timed out"))
    assert "could not connect within 5 s (the connect timeout)" in str(error)


@responses.activate
def test_a_refused_connection_says_so_without_urllib3_internals() -> None:
    refused = requests.ConnectionError(
        "HTTPConnectionPool(host='127.0.0.1', port=8080): Max retries exceeded with url: "
        "/v1/chat/completions (Caused by NewConnectionError('<urllib3.connection."
        "HTTPConnection object at 0x7f>: Failed to establish a new connection: [Errno 111] "
        "Connection refused'))")
    error = fail_three_times(body=refused)
    assert type(error) is APIConnectionError
    assert "could not connect (Connection refused). Tried 3 times" in str(error)
    assert "HTTPConnectionPool" not in str(error)
    assert "0x7f" not in str(error)


@responses.activate
def test_the_total_deadline_stops_a_call_and_says_which_timeout() -> None:
    now = [0.0]

    def monotonic() -> float:
        now[0] += 400.0  # every look at the clock: 400 s later
        return now[0]

    responses.post(URL, body="data: {}\n\n" * 10, content_type="text/event-stream")
    with pytest.raises(APITimeoutError) as caught:
        complete(registry_client(API_KEY, BASE_URL, monotonic=monotonic),
                 {**BODY, "stream": True})
    assert "took longer than its total deadline of 900 s" in str(caught.value)
    assert "10 x the step's Request timeout, at least 15 minutes" in str(caught.value)


@responses.activate
def test_a_500_that_is_a_validation_error_says_it_is_the_requests_fault() -> None:
    error = fail_three_times(status=500, json=LLAMA_VALIDATION_500)
    assert isinstance(error, ServerValidationError)
    assert isinstance(error, UserError)
    assert ("Tried 3 times; the server's answer is a validation error, so the request (not "
            "the server) is at fault") in str(error)
    assert "input_value='developer'" in str(error)


@responses.activate
def test_a_422_keeps_its_per_field_details() -> None:
    # FastAPI-style servers list every problem under `detail`
    responses.post(URL, status=422, json={"detail": [
        {"loc": ["body", "messages", 0, "role"], "msg": "Input should be 'user'",
         "type": "literal_error"},
        {"loc": ["body", "temperature"], "msg": "Input should be less than or equal to 2",
         "type": "less_than_equal"},
    ]})
    with pytest.raises(UnprocessableEntityError) as caught:
        client().request_json("POST", CHAT_COMPLETIONS_PATH, BODY)
    assert caught.value.message == (
        "messages[0].role: Input should be 'user'; "
        "temperature: Input should be less than or equal to 2")
    assert len(responses.calls) == 1


@responses.activate
def test_a_400_from_a_validating_proxy_keeps_its_details() -> None:
    responses.post(URL, status=400, json={"error": {
        "message": "Request validation failed", "type": "invalid_request_error",
        "details": [{"path": "/messages/0/role", "message": "must be equal to one of the "
                     "allowed values"}] * 7}})
    with pytest.raises(OpenAIError) as caught:
        client().request_json("POST", CHAT_COMPLETIONS_PATH, BODY)
    text = str(caught.value)
    assert text.startswith("Request validation failed: messages.0.role: must be equal to one "
                           "of the allowed values; ")
    assert "(and 2 more)" in text


@pytest.mark.parametrize("api_key", [
    "sk-good-start\nX-Injected: 1", "sk-key-with-€-in-it-SECRET", "sk-tab\tinside-SECRET",
])
def test_a_key_http_cannot_carry_fails_at_once_without_echo(api_key: str) -> None:
    with responses.RequestsMock() as mock, pytest.raises(RequestNotSentError) as caught:
        OpenAIClient(api_key, base_url=BASE_URL).request_json("POST", CHAT_COMPLETIONS_PATH,
                                                              BODY)
    assert len(mock.calls) == 0
    assert isinstance(caught.value, UserError)
    assert str(caught.value).startswith("API Key contains a character that cannot be sent")
    assert api_key.strip() not in str(caught.value)
    assert repr(api_key)[1:-1] not in repr(caught.value)


def test_user_errors_are_emitted_without_a_traceback() -> None:
    assert UserError.omit_traceback is True
    user_classes = [cls for cls in vars(openai_errors).values()
                    if isinstance(cls, type) and issubclass(cls, UserError)]
    assert len(user_classes) >= 9
    for cls in user_classes:
        assert cls.omit_traceback is True
    assert not getattr(InternalServerError, "omit_traceback", False)
    assert not getattr(APIConnectionError, "omit_traceback", False)


@responses.activate
def test_the_api_session_keeps_no_cookies() -> None:
    answer = {"id": "c", "object": "chat.completion", "created": 1, "model": "m", "choices": []}
    for _ in range(2):
        responses.post(URL, json=answer, headers={"Set-Cookie": "session=tracking; Path=/"})
    api = client()
    api.request_json("POST", CHAT_COMPLETIONS_PATH, BODY)
    api.request_json("POST", CHAT_COMPLETIONS_PATH, BODY)
    assert "Cookie" not in responses.calls[1].request.headers
    assert len(api._session.cookies) == 0


def test_an_error_body_is_parsed_whatever_its_nesting() -> None:
    deep = ("[" * 5000 + "]" * 5000).encode()
    error = openai_errors.error_from_response(400, deep, {})
    assert error.message.startswith("[[[")
    assert json.dumps(error.message)
