"""Request building and answer decoding of the OpenAI client (HTTP faked with `responses`)."""

from __future__ import annotations

import json
import logging

import pytest
import responses

from lib.openai import client as client_module
from lib.openai.client import POOL_MAXSIZE, OpenAIClient, clear_clients, get_client
from lib.openai.errors import BadRequestError, OpenAIError
from lib.openai.models import list_models
from lib.openai.paths import CHAT_COMPLETIONS_PATH
from lib.openai.retry import RetryPolicy
from lib.openai.wire import build_headers, encode_body
from lib.version import USER_AGENT
from tests.support.openapi_contract import validate

API_KEY = "sk-test-0123456789abcdefSECRET"
BASE_URL = "http://127.0.0.1:8080/v1"
COMPLETION = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1741569952,
    "model": "gpt-4o-mini",
    "choices": [{
        "index": 0,
        "message": {"role": "assistant", "content": "Hello!", "refusal": None, "annotations": []},
        "logprobs": None,
        "finish_reason": "stop",
    }],
    "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11},
    "service_tier": "default",
}
BODY = {
    "model": "gpt-4o-mini",
    "messages": [
        {"role": "developer", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Héllo"}]},
    ],
    "max_completion_tokens": 50,
}
MODELS = {"object": "list", "data": [
    {"id": "gpt-4o-mini", "object": "model", "created": 1721172741, "owned_by": "system"},
    {"id": "o3", "object": "model", "created": 1744225308, "owned_by": "system"},
]}


def make_client(base_url: str = BASE_URL, **kwargs: object) -> OpenAIClient:
    policy = RetryPolicy(sleep=lambda _s: None, random=lambda: 0.0)
    return OpenAIClient(API_KEY, base_url=base_url, retry_policy=policy, **kwargs)


def sent_json(call: responses.Call) -> dict:
    return json.loads(call.request.body)


def test_fixtures_match_the_official_document() -> None:
    validate("CreateChatCompletionRequest", BODY)
    validate("CreateChatCompletionResponse", COMPLETION)
    validate("ListModelsResponse", MODELS)


@responses.activate
def test_chat_completion_sends_headers_url_and_body() -> None:
    responses.post(f"{BASE_URL}/chat/completions", json=COMPLETION)
    client = make_client(organization="org-1", project="proj_1")

    result = client.request_json("POST", CHAT_COMPLETIONS_PATH, BODY)

    assert result == COMPLETION
    request = responses.calls[0].request
    assert request.url == f"{BASE_URL}/chat/completions"
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert request.headers["OpenAI-Organization"] == "org-1"
    assert request.headers["OpenAI-Project"] == "proj_1"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == USER_AGENT
    assert sent_json(responses.calls[0]) == BODY
    validate("CreateChatCompletionRequest", sent_json(responses.calls[0]))


@responses.activate
def test_optional_headers_are_left_out() -> None:
    responses.post(f"{BASE_URL}/chat/completions", json=COMPLETION)
    make_client().request_json("POST", CHAT_COMPLETIONS_PATH, BODY)
    headers = responses.calls[0].request.headers
    assert "OpenAI-Organization" not in headers
    assert "OpenAI-Project" not in headers


@responses.activate
def test_body_is_sent_as_compact_utf8_json() -> None:
    responses.post(f"{BASE_URL}/chat/completions", json=COMPLETION)
    make_client().request_json("POST", CHAT_COMPLETIONS_PATH, BODY)
    raw = responses.calls[0].request.body
    assert isinstance(raw, bytes)
    assert "Héllo".encode() in raw
    assert b": " not in raw


def test_a_body_json_cannot_carry_is_a_bad_request() -> None:
    with pytest.raises(BadRequestError, match="cannot be sent as JSON"):
        encode_body({"model": "m", "temperature": float("nan")})
    with pytest.raises(BadRequestError):
        encode_body({"model": "m", "metadata": object()})


@responses.activate
def test_list_models_without_data_is_an_error() -> None:
    responses.get(f"{BASE_URL}/models", json={"object": "list"})
    with pytest.raises(OpenAIError, match="no 'data' list"):
        list_models(make_client())


@responses.activate
def test_a_success_that_is_not_json_names_the_base_url() -> None:
    responses.post(f"{BASE_URL}/chat/completions", body="<html>login</html>",
                   content_type="text/html")
    with pytest.raises(OpenAIError, match="check the base URL"):
        make_client().request_json("POST", CHAT_COMPLETIONS_PATH, BODY)


def test_every_call_carries_key_accept_and_user_agent_headers() -> None:
    assert build_headers("k", None, None) == {
        "Authorization": "Bearer k", "Accept": "application/json", "User-Agent": USER_AGENT,
    }
    assert build_headers("k", "org", "proj")["OpenAI-Project"] == "proj"


def test_session_pool_is_large_enough_for_concurrent_messages() -> None:
    client = make_client()
    adapter = client._session.get_adapter("https://api.openai.com/v1")
    assert adapter._pool_maxsize >= POOL_MAXSIZE >= 100  # a prefetch of 100 streams
    assert adapter.max_retries.total == 0  # retries are ours, not urllib3's


def test_client_repr_has_no_key() -> None:
    assert API_KEY not in repr(make_client())


def test_get_client_cache_is_bounded() -> None:
    clear_clients()
    for number in range(client_module.MAX_CACHED_CLIENTS + 3):
        get_client(api_key=f"sk-{number}")
    assert len(client_module._clients) == client_module.MAX_CACHED_CLIENTS
    clear_clients()


def test_an_api_key_is_required() -> None:
    with pytest.raises(ValueError, match="API key"):
        OpenAIClient("")


@responses.activate
def test_proxy_settings_come_from_the_environment_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "")
    client = OpenAIClient(API_KEY)
    assert client._session.proxies.get("https") == "http://proxy.internal:3128"
    assert client._session.trust_env is False


@responses.activate
def test_a_caller_logger_gets_the_retry_lines(caplog: pytest.LogCaptureFixture) -> None:
    responses.post(f"{BASE_URL}/chat/completions", status=503, json={"error": {
        "message": "overloaded", "type": "server_error", "param": None, "code": None}})
    responses.post(f"{BASE_URL}/chat/completions", json=COMPLETION)
    logger = logging.getLogger("test.component")
    with caplog.at_level(logging.WARNING, logger="test.component"):
        make_client().request_json("POST", CHAT_COMPLETIONS_PATH, BODY, logger=logger)
    assert "retry 1 of 2" in caplog.text
    assert "overloaded" in caplog.text
