"""Create Embeddings and Moderate against a real llama.cpp server (llama-cpp-python's, with
`--embedding true`), through the local runner, as ./scripts/test-llama runs them.

The model has no pooling: the server answers one list of numbers per token of a text (the
output schema takes that form), and it cuts a text at its context (`--n_ctx`, kept small
here so that answers stay small) instead of refusing it. The server has no moderation
endpoint: Moderate fails with an error that names it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from jsonschema import Draft202012Validator

from lib.model_list import getEmbeddingModels
from lib.validation import load_schema, to_json_schema
from tests.support.action_support import FakeSelf
from tests.support.llama_server import API_KEY, RUN_TIMEOUT_S, example, llama_server, run_exec

pytestmark = pytest.mark.llama

OUT = Draft202012Validator(to_json_schema(load_schema("createEmbeddings.out.json")))
ALIAS = "smollm2-135m-embed"
CONTEXT_TOKENS = 64
EXAMPLES = ["embeddings.json", "embeddings_list.json"]


@pytest.fixture(scope="module")
def embeddings_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The server with embeddings on (a server of its own: the chat server has them off)."""
    with llama_server(tmp_path_factory.mktemp("llama"), ALIAS, "--n_ctx", str(CONTEXT_TOKENS),
                      "--embedding", "true") as url:
        yield url


def local_cfg(url: str) -> dict[str, Any]:
    """examples/cfg-local.json pointed at the server, its model taken from Create
    Embeddings' list (a compatible server: every model it offers)."""
    cfg = {**example("cfg-local.json"), "baseUrl": url}
    [model] = getEmbeddingModels(FakeSelf(), {**cfg, "apiKey": API_KEY})
    return {**cfg, "model": model}


def embeddings_of(events: list[dict[str, Any]]) -> dict[str, Any]:
    assert [e["event"] for e in events] == ["data", "end"]
    answer = events[0]["payload"]["body"]
    assert [f"{e.json_path}: {e.message}" for e in OUT.iter_errors(answer)] == []
    return answer


def test_the_embedding_list_names_the_served_model(embeddings_url: str) -> None:
    assert local_cfg(embeddings_url)["model"] == ALIAS


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_gives_one_embedding_per_text_in_order(name: str, embeddings_url: str) -> None:
    events, _logs = run_exec("createEmbeddings", f"examples/{name}", local_cfg(embeddings_url))
    answer = embeddings_of(events)
    value = example(name)["body"]["input"]
    texts = [value] if isinstance(value, str) else value
    assert [item["index"] for item in answer["data"]] == list(range(len(texts)))
    for item in answer["data"]:
        tokens = item["embedding"]  # no pooling: one vector per token
        assert tokens
        assert all(isinstance(vector, list) and len(vector) == len(tokens[0])
                   for vector in tokens)
    assert answer["usage"]["prompt_tokens"] > 0


def test_a_list_over_one_request_is_split_and_merged_in_order(embeddings_url: str) -> None:
    """Four texts of 100,000 bytes: at most 300,000 bytes (the token budget, counted as
    bytes) go in one request, so the list is sent as 3 + 1; the merged answer holds each
    text's own embedding at its index and the tokens of both requests."""
    cfg = local_cfg(embeddings_url)
    texts = [(f"{i} " + "lorem ipsum dolor " * 6000)[:100_000] for i in range(4)]
    events, logs = run_exec("createEmbeddings", "-", cfg,
                            stdin=json.dumps({"body": {"input": texts}}))
    answer = embeddings_of(events)
    assert any(r["msg"] == "The 4 texts are sent in 2 requests" for r in logs)
    assert [item["index"] for item in answer["data"]] == [0, 1, 2, 3]
    alone = requests.post(f"{embeddings_url}/embeddings", timeout=RUN_TIMEOUT_S,
                          json={"model": cfg["model"], "input": texts[3]})
    assert alone.status_code == 200, alone.text
    assert answer["data"][3]["embedding"] == alone.json()["data"][0]["embedding"]
    assert answer["data"][0]["embedding"] != answer["data"][3]["embedding"]
    assert answer["usage"]["prompt_tokens"] == 4 * CONTEXT_TOKENS  # each text cut


def test_moderate_names_the_endpoint_the_server_lacks(embeddings_url: str) -> None:
    cfg = {**local_cfg(embeddings_url)}
    events, _logs = run_exec("moderate", "examples/moderate.json", cfg, ok=False)
    assert [e["event"] for e in events] == ["error", "end"]
    message = events[0]["payload"]["message"]
    assert "POST /moderations" in message
    assert "404" in message
