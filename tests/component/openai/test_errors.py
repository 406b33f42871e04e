"""Mapping HTTP error answers to typed errors, their messages, hints and secret scrubbing."""

from __future__ import annotations

import json
import pickle

import pytest

from lib.errors import UserError
from lib.openai.errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InsufficientQuotaError,
    InternalServerError,
    NotFoundError,
    OpenAIError,
    PermissionDeniedError,
    RateLimitError,
    RequestRefusedError,
    RetryLaterError,
    StreamError,
    UnprocessableEntityError,
    error_from_event,
    error_from_response,
)
from lib.redaction import Redactor
from tests.support.openapi_contract import validate

API_KEY = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"
HEADERS = {"x-request-id": "req_123"}


def error_body(message: str, type_: str, code: str | None = None,
               param: str | None = None) -> bytes:
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    validate("ErrorResponse", body)
    return json.dumps(body).encode()


@pytest.mark.parametrize(("status", "error_type", "code", "expected", "user_error"), [
    (400, "invalid_request_error", None, BadRequestError, True),
    (401, "invalid_request_error", "invalid_api_key", AuthenticationError, True),
    (403, "invalid_request_error", "unsupported_country_region_territory",
     PermissionDeniedError, True),
    (404, "invalid_request_error", "model_not_found", NotFoundError, True),
    (408, "timeout", None, APITimeoutError, False),
    (409, "conflict", None, ConflictError, False),
    (422, "invalid_request_error", None, UnprocessableEntityError, True),
    (429, "requests", "rate_limit_exceeded", RateLimitError, False),
    (429, "insufficient_quota", "insufficient_quota", InsufficientQuotaError, True),
    (500, "server_error", None, InternalServerError, False),
    (502, "server_error", None, InternalServerError, False),
    (503, "server_error", None, InternalServerError, False),
    (413, "invalid_request_error", None, RequestRefusedError, True),
    (415, "invalid_request_error", None, RequestRefusedError, True),
])
def test_every_status_maps_to_its_class(status: int, error_type: str, code: str | None,
                                        expected: type, user_error: bool) -> None:
    error = error_from_response(status, error_body("Something.", error_type, code), HEADERS)
    assert type(error) is expected
    assert isinstance(error, UserError) is user_error
    assert (error.status, error.type, error.code) == (status, error_type, code)
    assert error.request_id == "req_123"
    assert error.message == "Something."


def test_transient_errors_are_not_the_users_and_subclasses_keep_meaning() -> None:
    assert issubclass(InsufficientQuotaError, RateLimitError)
    assert issubclass(APITimeoutError, APIConnectionError)
    for cls in (StreamError, RetryLaterError, APIConnectionError, InternalServerError):
        assert issubclass(cls, OpenAIError)
        assert not issubclass(cls, UserError)


def test_message_is_one_useful_line() -> None:
    body = error_body("Unsupported parameter: 'max_tokens' is not supported with this model.\n"
                      "Use 'max_completion_tokens' instead.", "invalid_request_error",
                      "unsupported_parameter", "max_tokens")
    error = error_from_response(400, body, HEADERS)
    text = str(error)
    assert "\n" not in text
    assert text.startswith("Unsupported parameter: 'max_tokens' is not supported")
    assert "status 400" in text
    assert "code unsupported_parameter" in text
    assert "param max_tokens" in text
    assert "request id req_123" in text
    assert "Hint: this model does not accept max_tokens; send max_completion_tokens" in text
    assert repr(error).startswith("BadRequestError(")


def test_temperature_on_a_reasoning_model_gets_a_hint() -> None:
    body = error_body("Unsupported value: 'temperature' does not support 0.2 with this model. "
                      "Only the default (1) value is supported.", "invalid_request_error",
                      "unsupported_value", "temperature")
    error = error_from_response(400, body, HEADERS)
    assert "remove 'temperature'" in error.hint
    assert "reasoning model" in str(error)


@pytest.mark.parametrize(("code", "param", "fragment"), [
    ("unsupported_parameter", "stop", "does not support 'stop'; remove it"),
    ("unsupported_value", "reasoning_effort", "value of 'reasoning_effort'; change or remove"),
])
def test_other_unsupported_parameters_get_a_hint(code: str, param: str, fragment: str) -> None:
    error = error_from_response(400, error_body("Nope.", "invalid_request_error", code, param),
                                {})
    assert fragment in error.hint


def test_quota_and_key_errors_say_what_to_check() -> None:
    quota = error_from_response(429, error_body(
        "You exceeded your current quota, please check your plan and billing details.",
        "insufficient_quota", "insufficient_quota"), HEADERS)
    assert "billing" in quota.hint
    key = error_from_response(401, error_body("Incorrect API key provided.",
                                              "invalid_request_error", "invalid_api_key"), {})
    assert "API key" in key.hint
    rate = error_from_response(429, error_body("Rate limit reached.", "requests",
                                               "rate_limit_exceeded"), {})
    assert rate.hint is None


def test_quota_is_recognised_by_type_alone() -> None:
    error = error_from_response(429, error_body("Out of credits.", "insufficient_quota"), {})
    assert isinstance(error, InsufficientQuotaError)


def test_the_key_is_scrubbed_from_an_echoed_message() -> None:
    body = error_body(f"Incorrect API key provided: {API_KEY}.", "invalid_request_error",
                      "invalid_api_key")
    error = error_from_response(401, body, HEADERS, Redactor([API_KEY]))
    for text in (str(error), repr(error), error.message, str(error.args)):
        assert API_KEY not in text
    assert "***" in error.message


@pytest.mark.parametrize(("body", "message"), [
    (b"<html><body>502 Bad Gateway</body></html>", "<html><body>502 Bad Gateway</body></html>"),
    (b'{"error": "model not loaded"}', "model not loaded"),
    (b'{"detail": "Not Found"}', "Not Found"),
    (b'{"error": {"code": 5}}', '{"code": 5}'),
    (b"", None),
])
def test_compatible_servers_error_shapes(body: bytes, message: str | None) -> None:
    error = error_from_response(502, body, {})
    assert error.message == (message or "HTTP 502")


def test_long_non_json_bodies_are_cut() -> None:
    message = error_from_response(502, b"x" * 10_000, {}).message
    assert len(message) == 300
    assert message.endswith("…")


def test_azure_request_id_header_is_used() -> None:
    error = error_from_response(500, b"", {"apim-request-id": "azure-1"})
    assert error.request_id == "azure-1"


def test_retry_later_carries_the_wait_and_the_cause() -> None:
    cause = error_from_response(429, error_body("Slow down.", "requests", "rate_limit_exceeded"),
                                HEADERS)
    error = RetryLaterError(300.0, cause)
    assert error.retry_after_s == 300.0
    assert error.cause is cause
    assert error.status == 429
    assert error.request_id == "req_123"
    assert not isinstance(error, UserError)
    assert str(error).startswith("The server asked to retry after 300 s: Slow down.")


def test_errors_survive_pickling() -> None:
    cause = error_from_response(429, error_body("Slow.", "requests", "rate_limit_exceeded"), {})
    for error in (cause, RetryLaterError(90, cause)):
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error)
        assert str(copy) == str(error)


def test_error_events_inside_a_stream() -> None:
    error = error_from_event(
        {"error": {"message": f"Server overloaded {API_KEY}", "type": "server_error",
                   "code": None, "param": None}},
        "req_9", Redactor([API_KEY]))
    assert isinstance(error, StreamError)
    assert error.type == "server_error"
    assert error.request_id == "req_9"
    assert API_KEY not in str(error)
    assert error_from_event("boom", None).message == "boom"
