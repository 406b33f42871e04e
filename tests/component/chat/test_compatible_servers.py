"""Server type "compatible": the request rewrite and the json_schema fallback."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import responses

from lib.actions import send_request
from lib.chat.compatible_servers import adapt_request, json_object_form
from lib.config import COMPATIBLE, OPENAI, SERVER_TYPES
from lib.openai.errors import InternalServerError
from tests.support.action_support import (
    FakeSelf,
    cfg,
    completion,
    run_process,
)

ROOT = Path(__file__).resolve().parents[3]
LOCAL_URL = "http://127.0.0.1:8099/v1"
LOCAL_COMPLETIONS = f"{LOCAL_URL}/chat/completions"
SCHEMA = {"type": "object", "additionalProperties": False, "required": ["name"],
          "properties": {"name": {"type": "string"}}}
JSON_SCHEMA_FORMAT = {"type": "json_schema",
                      "json_schema": {"name": "person", "strict": True, "schema": SCHEMA}}
# What llama-cpp-python's server answers to a json_schema response_format (abridged).
LLAMA_VALIDATION_500 = {"error": {
    "message": "[{'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
               "'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema'}]",
    "type": "internal_server_error", "param": None, "code": None}}

MESSAGES = [
    {"role": "developer", "content": "Answer briefly."},
    {"role": "system", "content": [{"type": "text", "text": "Be polite."},
                                   {"type": "text", "text": "Use English."}]},
    {"role": "user", "content": [
        {"type": "text", "text": "Hi"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}}]},
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": [{"type": "text", "text": "42"}]},
]


def test_openai_requests_are_not_touched() -> None:
    body = {"messages": MESSAGES, "max_completion_tokens": 50,
            "response_format": JSON_SCHEMA_FORMAT}
    assert adapt_request(body, OPENAI) is body


def test_compatible_requests_use_the_common_subset() -> None:
    body = {"model": "m", "messages": MESSAGES, "max_completion_tokens": 50, "seed": 7}
    original = copy.deepcopy(body)
    sent = adapt_request(body, COMPATIBLE)
    assert body == original  # the input is not modified
    assert sent["messages"] == [
        {"role": "system", "content": "Answer briefly."},
        {"role": "system", "content": "Be polite.\nUse English."},
        MESSAGES[2],  # a user message with an image keeps its parts
        {"role": "assistant", "tool_calls": MESSAGES[3]["tool_calls"]},
        {"role": "tool", "tool_call_id": "call_1", "content": "42"},
    ]
    assert sent["max_tokens"] == 50
    assert "max_completion_tokens" not in sent
    assert sent["seed"] == 7


def test_an_explicit_max_tokens_is_kept() -> None:
    sent = adapt_request({"messages": [], "max_tokens": 10, "max_completion_tokens": 99},
                         COMPATIBLE)
    assert sent["max_tokens"] == 10
    assert "max_completion_tokens" not in sent


def test_json_object_form_carries_the_schema() -> None:
    body = {"messages": [], "response_format": JSON_SCHEMA_FORMAT}
    assert json_object_form(body)["response_format"] == {"type": "json_object", "schema": SCHEMA}
    assert json_object_form({"messages": [], "response_format": {"type": "json_object"}}) is None
    assert json_object_form({"messages": []}) is None


def test_the_credentials_offer_exactly_the_server_types() -> None:
    component = json.loads((ROOT / "component.json").read_text(encoding="utf-8"))
    field = component["credentials"]["fields"]["serverType"]
    assert field["viewClass"] == "SelectView"
    assert field["required"] is False
    assert tuple(field["model"]) == SERVER_TYPES


def test_every_example_of_a_model_that_writes_has_a_token_limit() -> None:
    """Send Request's examples (`messages`) and Create Response's (response_*.json); the
    other actions' models write no text."""
    examples = sorted((ROOT / "examples").glob("*.json"))
    bodies = {p: json.loads(p.read_text(encoding="utf-8")).get("body") or {} for p in examples}
    messages = [p for p, body in bodies.items()
                if "messages" in body or p.name.startswith("response_")]
    assert len(messages) >= 9
    for path in messages:
        body = bodies[path]
        # Create Response's examples (response_*.json) use the Responses API's name
        limit = "max_output_tokens" if path.name.startswith("response_") else \
            "max_completion_tokens"
        assert isinstance(body.get(limit), int), path.name


def run(body: dict, server_type: str) -> tuple[FakeSelf, object]:
    me = FakeSelf()
    config = cfg(baseUrl=LOCAL_URL, serverType=server_type, model="smollm2")
    return me, run_process(send_request.process, me, {"id": "m1", "body": body}, config, {})


def sent_bodies() -> list[dict]:
    return [json.loads(call.request.body) for call in responses.calls]


@responses.activate
@pytest.mark.usefixtures("fresh_clients")
def test_the_action_sends_the_compatible_form() -> None:
    responses.add(responses.POST, LOCAL_COMPLETIONS, json=completion("Hi"))
    run({"messages": MESSAGES[:1], "max_completion_tokens": 5}, COMPATIBLE)
    [sent] = sent_bodies()
    assert sent["messages"] == [{"role": "system", "content": "Answer briefly."}]
    assert sent["max_tokens"] == 5


@responses.activate
@pytest.mark.usefixtures("fresh_clients")
def test_a_refused_json_schema_is_sent_again_as_json_object() -> None:
    responses.add(responses.POST, LOCAL_COMPLETIONS, json=LLAMA_VALIDATION_500, status=500)
    responses.add(responses.POST, LOCAL_COMPLETIONS, json=LLAMA_VALIDATION_500, status=500)
    responses.add(responses.POST, LOCAL_COMPLETIONS, json=LLAMA_VALIDATION_500, status=500)
    responses.add(responses.POST, LOCAL_COMPLETIONS, json=completion('{"name": "Ada"}'))
    me, result = run({"messages": [{"role": "user", "content": "Ada"}],
                      "response_format": JSON_SCHEMA_FORMAT}, COMPATIBLE)
    bodies = sent_bodies()
    assert [b["response_format"]["type"] for b in bodies] == ["json_schema"] * 3 + ["json_object"]
    assert bodies[-1]["response_format"]["schema"] == SCHEMA
    assert result["body"]["choices"][0]["message"]["parsed"] == {"name": "Ada"}
    assert "refused response_format json_schema (status 500)" in me.logger.text()


@responses.activate
@pytest.mark.usefixtures("fresh_clients")
def test_openai_servers_get_no_fallback() -> None:
    for _ in range(3):
        responses.add(responses.POST, LOCAL_COMPLETIONS, json=LLAMA_VALIDATION_500, status=500)
    with pytest.raises(InternalServerError):
        run({"messages": [{"role": "user", "content": "Ada"}],
             "response_format": JSON_SCHEMA_FORMAT}, OPENAI)
    assert all(b["response_format"]["type"] == "json_schema" for b in sent_bodies())


@responses.activate
@pytest.mark.usefixtures("fresh_clients")
def test_other_refusals_are_not_sent_again() -> None:
    refusal = {"error": {"message": "model 'smollm2' not loaded", "type": "invalid_request_error",
                         "param": None, "code": None}}
    responses.add(responses.POST, LOCAL_COMPLETIONS, json=refusal, status=400)
    with pytest.raises(Exception, match="not loaded"):
        run({"messages": [{"role": "user", "content": "Ada"}],
             "response_format": JSON_SCHEMA_FORMAT}, COMPATIBLE)
    assert len(responses.calls) == 1
