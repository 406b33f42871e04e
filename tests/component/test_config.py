"""The step's configuration, parsed once: credentials, base URL, server type, step fields."""

from __future__ import annotations

import pytest
import responses

from lib.config import (
    COMPATIBLE,
    OPENAI,
    normalize_base_url,
    parse_credentials,
    parse_step_config,
)
from lib.errors import ConfigError, InvalidBaseURLError, UserError
from lib.openai.client import OpenAIClient, clear_clients
from lib.openai.models import list_models
from lib.openai.retry import RetryPolicy
from tests.support.action_support import API_KEY, cfg

MODELS = {"object": "list", "data": [
    {"id": "gpt-4o-mini", "object": "model", "created": 1721172741, "owned_by": "system"},
    {"id": "o3", "object": "model", "created": 1744225308, "owned_by": "system"},
]}


def credentials(base_url: str | None = None, **fields: str) -> dict[str, str]:
    return {"apiKey": API_KEY, **({} if base_url is None else {"baseUrl": base_url}), **fields}


@pytest.mark.parametrize(("given", "expected"), [
    (None, "https://api.openai.com/v1"),
    ("", "https://api.openai.com/v1"),
    ("https://api.openai.com/v1/", "https://api.openai.com/v1"),
    ("https://res.openai.azure.com/openai/v1//", "https://res.openai.azure.com/openai/v1"),
    (" http://localhost:11434/v1 ", "http://localhost:11434/v1"),
    # a pasted endpoint URL: the client appends /chat/completions (and /models) itself
    ("https://llm.example.com/v1/chat/completions", "https://llm.example.com/v1"),
    ("https://llm.example.com/v1/chat/completions/", "https://llm.example.com/v1"),
    ("https://api.openai.com/v1/responses", "https://api.openai.com/v1"),
    ("http://127.0.0.1:8080/v1/embeddings/", "http://127.0.0.1:8080/v1"),
])
def test_base_url_is_normalized(given: str | None, expected: str) -> None:
    assert normalize_base_url(given) == expected
    assert parse_credentials(credentials(given)).base_url == expected


@pytest.mark.parametrize(("base_url", "problem"), [
    ("http://user:pw-secret@127.0.0.1:8080/v1", "user name or password"),
    ("ftp://user:pw-secret@127.0.0.1/v1", "must be an http(s) URL"),
    ("http://127.0.0.1:8080/v1?api-key=" + API_KEY, "query"),
    ("http://127.0.0.1:8080/v1#" + API_KEY, "query"),
])
def test_a_base_url_with_credentials_is_refused_without_echo(base_url: str, problem: str) -> None:
    with pytest.raises(InvalidBaseURLError) as caught:
        parse_credentials(credentials(base_url))
    assert problem in str(caught.value)
    assert "pw-secret" not in str(caught.value)
    assert API_KEY not in str(caught.value)


def test_a_base_url_without_scheme_is_the_users_error() -> None:
    with pytest.raises(InvalidBaseURLError, match=r"must be an http\(s\) URL") as caught:
        parse_credentials(credentials("api.example.com/v1"))
    assert isinstance(caught.value, UserError)


@pytest.mark.parametrize("host", [
    "a" * 64 + ".example.com", "a" * 100_000, "a..example.com", ("a" * 60 + ".") * 5 + "com",
])
def test_a_host_no_dns_can_hold_is_a_short_user_error(host: str) -> None:
    with pytest.raises(InvalidBaseURLError) as caught:
        parse_credentials(credentials(f"https://{host}/v1"))
    assert isinstance(caught.value, ConfigError)
    assert "invalid host name" in str(caught.value)
    assert len(str(caught.value)) < 200


@responses.activate
def test_a_base_url_with_a_trailing_slash_reaches_the_models_path() -> None:
    responses.get("http://127.0.0.1:8080/openai/v1/models", json=MODELS)
    parsed = parse_credentials(credentials("http://127.0.0.1:8080/openai/v1/"))
    client = OpenAIClient(API_KEY, base_url=parsed.base_url,
                          retry_policy=RetryPolicy(sleep=lambda _s: None))
    assert [m["id"] for m in list_models(client)] == ["gpt-4o-mini", "o3"]
    assert responses.calls[0].request.headers["Authorization"] == f"Bearer {API_KEY}"


@pytest.mark.parametrize(("value", "expected"), [
    (None, OPENAI), ("", OPENAI), ("openai", OPENAI), ("compatible", COMPATIBLE),
    (" Compatible ", COMPATIBLE),
])
def test_server_type_is_read_case_and_blank_insensitively(value: str | None,
                                                          expected: str) -> None:
    config = {"apiKey": API_KEY} | ({} if value is None else {"serverType": value})
    assert parse_credentials(config).server_type == expected


def test_an_unknown_server_type_is_refused() -> None:
    with pytest.raises(ConfigError, match="Server type must be one of openai, compatible"):
        parse_credentials({"apiKey": API_KEY, "serverType": "ollama"})


def test_the_parsed_configuration_never_prints_the_key() -> None:
    config = parse_step_config(cfg(requestTimeout=" 120 "))
    assert config.timeout_s == 120
    assert API_KEY not in repr(config)
    assert API_KEY not in str(config)
    assert API_KEY not in repr(parse_credentials(cfg()))


def test_one_flat_configuration_holds_credentials_and_step_fields() -> None:
    config = parse_step_config(cfg(baseUrl="http://127.0.0.1:8080/v1/", serverType="compatible",
                                   longestWait="2"))
    assert (config.api_key, config.base_url, config.server_type, config.model) == (
        API_KEY, "http://127.0.0.1:8080/v1", COMPATIBLE, "gpt-4o-mini")
    assert config.longest_wait_s == 120


def test_the_client_is_cached_once_per_credentials() -> None:
    clear_clients()
    first = parse_credentials(credentials("https://api.openai.com/v1/")).client()
    assert parse_credentials(credentials()).client() is first
    assert parse_credentials(credentials(organization="org-1")).client() is not first
    assert parse_credentials({"apiKey": "sk-other"}).client() is not first
    clear_clients()
    assert parse_credentials(credentials()).client() is not first
    clear_clients()


@pytest.mark.parametrize(("value", "seconds"), [
    (None, 60), ("", 60), ("1", 1), (" 1.5 ", 1.5), (900, 900), ("899.9", 899.9),
])
def test_the_request_timeout_is_a_number_from_1_to_900(value: object, seconds: float) -> None:
    assert parse_step_config(cfg(requestTimeout=value)).timeout_s == seconds


@pytest.mark.parametrize("value", ["0.5", 0.99, "0", "-3", "900.5", "nan", "inf", True, "1e9"])
def test_a_request_timeout_outside_1_to_900_is_refused_with_the_rule(value: object) -> None:
    # the rule and the text agree: what the text says is refused is refused, and the rest
    # is accepted (above)
    with pytest.raises(ConfigError, match="between 1 and 900, got"):
        parse_step_config(cfg(requestTimeout=value))
