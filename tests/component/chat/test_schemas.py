"""The metadata files: platform dialect, and what they accept and describe."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from lib.chat.output import with_parsed
from lib.chat.request import build_request_body
from lib.validation import load_schema, to_json_schema, validate_input
from tests.support.action_support import completion
from tests.support.openapi_contract import validate

IN_SCHEMA = load_schema("sendRequest.in.json")
OUT_SCHEMA = load_schema("sendRequest.out.json")

# Inputs written for the original component and for this one (the README's examples).
EXAMPLES = {
    "1.0.0 string content": {
        "messages": [{"role": "user", "content": "Hi there, what is your name?"}]},
    "1.2.0 file_url with JSON mode": {
        "messages": [
            {"role": "system", "content": [{"type": "text", "text": "Answer in JSON."}]},
            {"role": "user", "content": [
                {"type": "text", "text": "Summarise this invoice"},
                {"type": "file", "file": {
                    "file_url": "http://maester-service.platform.svc.cluster.local:3002/"
                                "objects/1?storage_type=maester"}},
            ]},
        ],
        "response_format": {"type": "json_object"}},
    "structured outputs": {
        "messages": [{"role": "developer", "content": "Extract the order."},
                     {"role": "user", "content": "2 apples to Bonn"}],
        "response_format": {"type": "json_schema", "json_schema": {
            "name": "order", "strict": True, "schema": {
                "type": "object", "additionalProperties": False, "required": ["item", "qty"],
                "properties": {"item": {"type": "string"}, "qty": {"type": "integer"}}}}},
        "reasoning_effort": "low", "max_completion_tokens": 2000},
    "image": {
        "messages": [{"role": "user", "content": [
            {"type": "text", "text": "What is on this picture?"},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg",
                                                "detail": "low"}}]}]},
    "streaming": {"messages": [{"role": "user", "content": "Write a long story."}],
                  "stream": True},
}


def walk(schema: dict, path: str = ""):
    """Every property schema with its path."""
    for name, sub in schema.get("properties", {}).items():
        yield f"{path}.{name}".lstrip("."), sub
        yield from walk(sub, f"{path}.{name}")
        if isinstance(sub.get("items"), dict):
            yield from walk(sub["items"], f"{path}.{name}[]")


def test_boolean_required_becomes_a_json_schema_list() -> None:
    schema = {"type": "object", "required": ["a"], "properties": {
        "a": {"type": "string", "required": False},
        "b": {"type": "object", "required": True, "properties": {
            "c": {"type": "string", "required": True}}},
        "d": {"type": "string"}}}
    original = copy.deepcopy(schema)
    assert to_json_schema(schema) == {"type": "object", "required": ["a", "b"], "properties": {
        "a": {"type": "string"},
        "b": {"type": "object", "required": ["c"], "properties": {"c": {"type": "string"}}},
        "d": {"type": "string"}}}
    assert schema == original


@pytest.mark.parametrize("schema", [IN_SCHEMA, OUT_SCHEMA], ids=["in", "out"])
def test_schemas_use_the_platform_dialect_with_titles(schema: dict) -> None:
    assert schema["title"]
    for path, prop in walk(schema):
        assert prop.get("title"), path
        assert not isinstance(prop.get("required"), list), path  # booleans on properties
        if schema is OUT_SCHEMA:
            assert isinstance(prop["required"], bool), path
            assert prop["help"]["description"], path


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_examples_are_valid_here_and_for_the_api(name: str) -> None:
    validate_input(EXAMPLES[name])
    body = build_request_body(EXAMPLES[name], "gpt-5-mini")
    if name.startswith("1.2.0"):
        return  # file_url is ours: turned into file_data before sending (test_attachments)
    validate("CreateChatCompletionRequest", body)


def test_the_output_schema_describes_a_full_answer() -> None:
    answer = completion(
        '{"item": "apple", "qty": 2}', model="gpt-4o-audio-preview-2025-06-03",
        tool_calls=[{"id": "call_1", "type": "function",
                     "function": {"name": "f", "arguments": "{}"}}],
        annotations=[{"type": "url_citation", "url_citation": {
            "url": "https://example.com", "title": "Example", "start_index": 0,
            "end_index": 5}}],
        audio={"id": "audio_1", "data": "UklGRg==", "transcript": "hi", "expires_at": 1741573552},
    )
    answer["choices"][0]["logprobs"] = {"content": [{
        "token": "{", "logprob": -0.01, "bytes": [123],
        "top_logprobs": [{"token": "{", "logprob": -0.01, "bytes": [123]}]}], "refusal": None}
    answer["system_fingerprint"] = "fp_44709d6fcb"
    validate("CreateChatCompletionResponse", answer)
    output = with_parsed(answer)
    out = Draft202012Validator(to_json_schema(OUT_SCHEMA))
    problems = [e.message for e in out.iter_errors(output)]  # nulls included
    assert problems == []
    described = {path for path, _ in walk(OUT_SCHEMA)}
    for key in output:
        assert key in described
    for key in output["choices"][0]["message"]:
        assert f"choices[].message.{key}" in described


def readme_examples() -> list[dict]:
    """The JSON examples of the README's Input Metadata section."""
    text = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    section = text[text.index("#### Input Metadata"):text.index("#### Output Metadata")]
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", section, re.DOTALL)]


def test_readme_examples_are_valid_here_and_for_the_api() -> None:
    examples = readme_examples()
    assert len(examples) == 6  # JSON mode, Structured Outputs, tools, image, PDF, streaming
    for example in examples:
        validate_input(example)
        if '"file_url"' not in json.dumps(example):
            validate("CreateChatCompletionRequest", build_request_body(example, "gpt-5-mini"))
