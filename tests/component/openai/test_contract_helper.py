"""The contract helper itself: it accepts OpenAI's own examples and rejects wrong bodies.

Without both halves a contract test could be vacuous (accepting anything) or wrong
(rejecting what the API really sends, e.g. the nulls the 3.0 `nullable` keyword allows).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.support.openapi_contract import (
    ContractError,
    document,
    errors,
    rewrite_nullable,
    validate,
)

CURL_BODY = re.compile(r"-d '(?P<body>.*)'\s*$", re.DOTALL)


def chat_examples() -> list[dict[str, Any]]:
    return document()["paths"]["/chat/completions"]["post"]["x-oaiMeta"]["examples"]


def example_ids() -> list[str]:
    return [example["title"] for example in chat_examples()]


@pytest.mark.parametrize("example", chat_examples(), ids=example_ids())
def test_official_request_examples_are_valid(example: dict[str, Any]) -> None:
    body = json.loads(CURL_BODY.search(example["request"]["curl"])["body"])
    validate("CreateChatCompletionRequest", body)


# Two response examples predate fields the current schema requires (`message.refusal`,
# `logprobs.refusal`) and show `system_fingerprint: null`, which it no longer allows. The
# validator must flag exactly those places: the schema, not the validator, is stricter.
STALE_RESPONSE_EXAMPLES = {
    "Functions": {"$.choices[0].message"},
    "Logprobs": {"$.choices[0].message", "$.choices[0].logprobs", "$.system_fingerprint"},
}


@pytest.mark.parametrize("example", chat_examples(), ids=example_ids())
def test_official_response_examples_are_valid(example: dict[str, Any]) -> None:
    text = example["response"]
    if '"chat.completion.chunk"' in text:
        chunks = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
        assert len(chunks) >= 2
        for chunk in chunks:
            validate("CreateChatCompletionStreamResponse", chunk)
        return
    problems = errors("CreateChatCompletionResponse", json.loads(text))
    places = {problem.split(": ", 1)[0] for problem in problems}
    assert places == STALE_RESPONSE_EXAMPLES.get(example["title"], set()), problems


def test_official_schema_examples_are_valid() -> None:
    schemas = document()["components"]["schemas"]
    validate("CreateChatCompletionResponse",
             json.loads(schemas["CreateChatCompletionResponse"]["x-oaiMeta"]["example"]))
    model = json.loads(schemas["Model"]["x-oaiMeta"]["example"])
    validate("ListModelsResponse", {"object": "list", "data": [model]})


GOOD_REQUEST = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}
GOOD_CHUNK = {
    "id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
    "choices": [{"index": 0, "delta": {"content": "x"}, "logprobs": None,
                 "finish_reason": None}],
    "usage": None,
}
GOOD_RESPONSE = {
    "id": "c", "object": "chat.completion", "created": 1, "model": "m",
    "choices": [{"index": 0, "logprobs": None, "finish_reason": "stop",
                 "message": {"role": "assistant", "content": "x", "refusal": None}}],
}


def changed(value: dict[str, Any], path: tuple[Any, ...], new: Any) -> dict[str, Any]:
    copy = json.loads(json.dumps(value))
    target = copy
    for key in path[:-1]:
        target = target[key]
    if new is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = new
    return copy


def test_the_good_bodies_are_valid() -> None:
    validate("CreateChatCompletionRequest", GOOD_REQUEST)
    validate("CreateChatCompletionStreamResponse", GOOD_CHUNK)
    validate("CreateChatCompletionResponse", GOOD_RESPONSE)


@pytest.mark.parametrize(("schema", "instance"), [
    ("CreateChatCompletionRequest", changed(GOOD_REQUEST, ("messages",), KeyError)),
    ("CreateChatCompletionRequest", changed(GOOD_REQUEST, ("messages",), [])),
    ("CreateChatCompletionRequest", changed(GOOD_REQUEST, ("messages", 0, "role"), "robot")),
    ("CreateChatCompletionRequest", changed(GOOD_REQUEST, ("messages", 0, "content"), 42)),
    ("CreateChatCompletionRequest", changed(GOOD_REQUEST, ("temperature",), "hot")),
    ("CreateChatCompletionRequest", changed(GOOD_REQUEST, ("response_format",),
                                            {"type": "yaml"})),
    ("CreateChatCompletionRequest", changed(GOOD_REQUEST, ("max_completion_tokens",), "10")),
    ("CreateChatCompletionStreamResponse", changed(GOOD_CHUNK,
                                                   ("choices", 0, "finish_reason"), "bogus")),
    ("CreateChatCompletionStreamResponse", changed(GOOD_CHUNK, ("usage",), "lots")),
    ("CreateChatCompletionStreamResponse", changed(GOOD_CHUNK, ("object",), "chat.completion")),
    ("CreateChatCompletionResponse", changed(GOOD_RESPONSE, ("model",), KeyError)),
    ("CreateChatCompletionResponse", changed(GOOD_RESPONSE,
                                             ("choices", 0, "finish_reason"), None)),
    ("CreateChatCompletionResponse", changed(GOOD_RESPONSE,
                                             ("choices", 0, "message", "role"), "user")),
    ("ListModelsResponse", {"object": "list", "data": [{"id": "gpt-4o"}]}),
])
def test_wrong_bodies_are_rejected(schema: str, instance: Any) -> None:
    assert errors(schema, instance)
    with pytest.raises(ContractError, match=f"Not a valid {schema}"):
        validate(schema, instance)


def test_the_error_names_the_place() -> None:
    with pytest.raises(ContractError, match=r"\$: 'messages' is a required property"):
        validate("CreateChatCompletionRequest", {"model": "gpt-4o"})


def test_an_unknown_schema_name_is_an_error() -> None:
    with pytest.raises(KeyError, match="NoSuchSchema"):
        validate("NoSuchSchema", {})


def test_nullable_allows_null_and_nothing_more() -> None:
    schema = {"type": "string", "enum": ["stop", "length"], "nullable": True}
    assert Draft202012Validator(schema).is_valid(None) is False  # why the rewrite exists
    rewritten = Draft202012Validator(rewrite_nullable(schema))
    assert rewritten.is_valid(None)
    assert rewritten.is_valid("stop")
    assert not rewritten.is_valid("bogus")
    assert not rewritten.is_valid(3)


def test_nullable_beside_a_ref_or_without_a_type() -> None:
    assert rewrite_nullable({"$ref": "#/x", "nullable": True}) == {
        "anyOf": [{"$ref": "#/x"}, {"type": "null"}]}
    assert rewrite_nullable({"description": "d", "nullable": True}) == {
        "anyOf": [{"description": "d"}, {"type": "null"}]}
    assert rewrite_nullable({"type": "string", "nullable": False}) == {"type": "string"}
    assert rewrite_nullable({"properties": {"nullable": {"type": "boolean"}}}) == {
        "properties": {"nullable": {"type": "boolean"}}}


def test_the_document_has_no_nullable_left() -> None:
    assert "'nullable': True" not in str(document()["components"]["schemas"])
