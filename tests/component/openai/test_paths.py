"""The API's endpoint paths: cut off a pasted base URL once, and what a 404 on one of them
says about the base URL (it probably lacks /v1, or has one too many)."""

from __future__ import annotations

import ast
import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import responses

from lib.openai.async_client import AsyncOpenAIClient
from lib.openai.client import OpenAIClient
from lib.openai.embeddings import create_embeddings
from lib.openai.errors import NotFoundError
from lib.openai.paths import ENDPOINT_PATHS, base_url_hint, without_endpoint_path
from lib.openai.responses import create_response, retrieve_response
from lib.openai.retry import RetryPolicy
from tests.support.requests_transport import RequestsTransport

API_KEY = "sk-test-paths-0123456789SECRET"
OPENAI_DIR = Path(__file__).resolve().parents[3] / "lib" / "openai"
LACKS_V1 = "probably lacks /v1"


def client(base_url: str) -> OpenAIClient:
    return OpenAIClient(API_KEY, base_url=base_url,
                        retry_policy=RetryPolicy(sleep=lambda _s: None, random=lambda: 0.0))


def called(base_url: str, call: Callable[..., Awaitable[Any]], *args: Any,
           **kwargs: Any) -> Any:
    """`call(async client, *args, **kwargs)`, served from the `responses` registry."""
    async def main() -> Any:
        async_client = AsyncOpenAIClient(
            API_KEY, base_url=base_url, transport=RequestsTransport(base_url),
            retry_policy=RetryPolicy(sleep=lambda _s: None, random=lambda: 0.0))
        try:
            return await call(async_client, *args, **kwargs)
        finally:
            await async_client.aclose()

    return asyncio.run(main())


def test_every_path_the_api_modules_call_is_a_known_endpoint() -> None:
    """A new API module takes its path from lib/openai/paths.py (or the base URL cut and
    the 404 hint would not know it)."""
    defined_elsewhere = [
        f"{module.name}:{node.lineno}"
        for module in OPENAI_DIR.glob("*.py") if module.name != "paths.py"
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8")))
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id.endswith("_PATH") for t in node.targets)
    ]
    assert defined_elsewhere == []
    assert "/chat/completions" in ENDPOINT_PATHS
    # longest first: /chat/completions is found before /completions
    assert ENDPOINT_PATHS.index("/chat/completions") < ENDPOINT_PATHS.index("/completions")


@pytest.mark.parametrize(("pasted", "base"), [
    ("https://api.openai.com/v1/responses", "https://api.openai.com/v1"),
    ("https://api.openai.com/v1/chat/completions", "https://api.openai.com/v1"),
    ("https://api.openai.com/v1/completions", "https://api.openai.com/v1"),
    ("https://api.openai.com/v1/embeddings", "https://api.openai.com/v1"),
    ("https://api.openai.com/v1/models", "https://api.openai.com/v1"),
    ("https://api.openai.com/v1/moderations", "https://api.openai.com/v1"),
    ("https://api.openai.com/v1/images/generations", "https://api.openai.com/v1"),
    ("https://api.openai.com/v1/audio/transcriptions", "https://api.openai.com/v1"),
    ("https://api.openai.com/v1/audio/speech", "https://api.openai.com/v1"),
    ("https://api.openai.com/v1/files", "https://api.openai.com/v1"),
    ("https://api.openai.com/v1/vector_stores", "https://api.openai.com/v1"),
    ("https://res.openai.azure.com/openai/v1/responses", "https://res.openai.azure.com/openai/v1"),
    ("http://127.0.0.1:8080/chat/completions", "http://127.0.0.1:8080"),
    # once: a path that ends in two endpoint names loses the last only
    ("https://gw.example/v1/models/models", "https://gw.example/v1/models"),
    # a one-word endpoint that is the whole path may be where the server lives
    ("https://res.services.ai.azure.com/models", "https://res.services.ai.azure.com/models"),
    # not an endpoint: a word that merely ends like one
    ("https://gw.example/v1/myresponses", "https://gw.example/v1/myresponses"),
    ("https://api.openai.com/v1", "https://api.openai.com/v1"),
])
def test_a_pasted_endpoint_is_cut_back_to_its_base_once(pasted: str, base: str) -> None:
    assert without_endpoint_path(pasted) == base


@pytest.mark.parametrize(("base_url", "says"), [
    ("http://127.0.0.1:8080", LACKS_V1),
    ("http://127.0.0.1:8080/api", LACKS_V1),
    ("http://127.0.0.1:8080/v1/v1", "2 version segments (/v1, /v1)"),
    ("http://127.0.0.1:8080/v1", "probably has one /v1 too many, or the server does not offer"),
])
def test_the_hint_reads_the_base_url(base_url: str, says: str) -> None:
    assert says in base_url_hint(base_url)


@responses.activate
def test_a_404_for_the_apis_own_path_says_the_base_url_probably_lacks_v1() -> None:
    # a server that offers the API under /v1 only, given its bare host
    responses.post("http://127.0.0.1:8080/responses", status=404,
                   json={"error": {"message": "Unknown path /responses",
                                   "type": "invalid_request_error"}})
    with pytest.raises(NotFoundError) as caught:
        called("http://127.0.0.1:8080", create_response, {"model": "m", "input": "hi"},
               timeout_s=5)
    text = str(caught.value)
    assert text.startswith("Unknown path /responses (status 404")
    assert LACKS_V1 in text
    assert len(responses.calls) == 1  # a 404 is not retried


@responses.activate
def test_a_404_about_the_model_or_a_stored_object_gets_no_base_url_hint() -> None:
    base = "http://127.0.0.1:8080/v1"
    responses.post(f"{base}/responses", status=404, json={"error": {
        "message": "The model `gpt-9` does not exist or you do not have access to it.",
        "type": "invalid_request_error", "code": "model_not_found"}})
    responses.post(f"{base}/responses", status=404,
                   json={"error": {"message": 'model "llama9" not found, try pulling it first',
                                   "type": "api_error"}})
    responses.post(f"{base}/responses", status=404, json={"error": {
        "code": "DeploymentNotFound",
        "message": "The API deployment for this resource does not exist."}})
    responses.get(f"{base}/responses/resp_gone", status=404, json={"error": {
        "message": "Response with id 'resp_gone' not found.", "type": "invalid_request_error"}})
    for _ in range(3):
        with pytest.raises(NotFoundError) as caught:
            called(base, create_response, {"model": "gpt-9", "input": "hi"}, timeout_s=5)
        assert "base URL" not in str(caught.value)
    with pytest.raises(NotFoundError) as gone:
        called(base, retrieve_response, "resp_gone", timeout_s=5)
    assert "base URL" not in str(gone.value)


@responses.activate
def test_an_endpoint_the_server_lacks_is_named_and_keeps_the_base_url_hint() -> None:
    responses.post("http://127.0.0.1:8080/embeddings", status=404, json={"detail": "Not Found"})
    with pytest.raises(NotFoundError) as caught:
        create_embeddings(client("http://127.0.0.1:8080"), {"model": "m", "input": "a"},
                          timeout_s=5)
    assert str(caught.value).startswith("The server has no POST /embeddings endpoint")
    assert LACKS_V1 in str(caught.value)
