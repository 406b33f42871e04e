"""Create Response's metadata files and examples: described, valid here and for the API."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from lib.responses.output import build_response_output
from lib.responses.request import build_response_request
from lib.validation import load_schema, to_json_schema, validate_input
from tests.support.openai_standin import (
    default_response,
    in_state,
    response_events,
    response_object,
)
from tests.support.openapi_contract import validate

IN_SCHEMA = load_schema("createResponse.in.json")
OUT_SCHEMA = load_schema("createResponse.out.json")
EXAMPLES_DIR = Path(__file__).resolve().parents[3] / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("response_*.json"))


def walk(schema: dict, path: str = ""):
    """Every property schema with its path (items included)."""
    for name, sub in schema.get("properties", {}).items():
        yield f"{path}.{name}".lstrip("."), sub
        yield from walk(sub, f"{path}.{name}")
        if isinstance(sub.get("items"), dict):
            yield f"{path}.{name}[]".lstrip("."), sub["items"]
            yield from walk(sub["items"], f"{path}.{name}[]")


@pytest.mark.parametrize("schema", [IN_SCHEMA, OUT_SCHEMA], ids=["in", "out"])
def test_every_field_has_a_title_and_a_description(schema: dict) -> None:
    assert schema["title"]
    assert schema["help"]["description"]
    for path, prop in walk(schema):
        assert prop.get("title"), path
        assert prop.get("help", {}).get("description"), path
        assert not isinstance(prop.get("required"), list), path
        if schema is OUT_SCHEMA and not path.endswith("[]"):
            assert isinstance(prop["required"], bool), path
    Draft202012Validator.check_schema(to_json_schema(schema))


def test_the_examples_are_there_each_with_a_token_limit() -> None:
    names = {path.stem for path in EXAMPLES}
    assert names == {"response_hello", "response_web_search", "response_json_schema",
                     "response_background"}
    for path in EXAMPLES:
        assert json.loads(path.read_text())["body"]["max_output_tokens"] >= 16, path


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_examples_are_valid_here_and_for_the_api(path: Path) -> None:
    body = json.loads(path.read_text())["body"]
    validate_input(body, "createResponse.in.json")
    validate("CreateResponse", build_response_request(body, "gpt-5-mini"))


def test_the_output_schema_describes_a_full_answer() -> None:
    request = {"input": "x", "text": {"format": {"type": "json_object"}}}
    response = response_object("gpt-5-mini", '{"a": 1}')
    validate("Response", response)
    output = build_response_output(request, response)
    described = {path for path, _ in walk(OUT_SCHEMA)}
    assert set(output) <= described
    out = Draft202012Validator(to_json_schema(OUT_SCHEMA))
    assert [e.message for e in out.iter_errors(output)] == []


def test_the_output_schema_takes_null_token_details_as_compatible_servers_send_them() -> None:
    # LiteLLM's /v1/responses sends both details as null (Send Request's schema takes that too)
    response = response_object("gpt-5-mini", "hi")
    response["usage"] = {"input_tokens": 3, "input_tokens_details": None, "output_tokens": 1,
                         "output_tokens_details": None, "total_tokens": 4}
    output = build_response_output({"input": "x"}, response)
    out = Draft202012Validator(to_json_schema(OUT_SCHEMA))
    assert [e.message for e in out.iter_errors(output)] == []
    response["usage"]["input_tokens_details"] = "none"
    assert [e.message for e in out.iter_errors(build_response_output({"input": "x"}, response))]


def test_readme_examples_are_valid_here_and_for_the_api() -> None:
    text = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### Create Response"):]
    section = section[section.index("#### Input Metadata"):section.index("#### Output Metadata")]
    examples = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", section, re.DOTALL)]
    assert len(examples) == 4  # plain, web search, Structured Outputs, background
    for example in examples:
        validate_input(example, "createResponse.in.json")
        validate("CreateResponse", build_response_request(example, "gpt-5-mini"))


@pytest.mark.parametrize("status", ["completed", "incomplete", "failed"])
def test_the_stand_ins_answers_match_the_official_schemas(status: str) -> None:
    request = {"model": "gpt-5-mini", "input": [{"role": "user", "content": "hi"}],
               "text": {"format": {"type": "json_object"}}}
    validate("Response", default_response(request))
    final = response_object("gpt-5-mini", "x" * 12, status=status,
                            incomplete_reason="max_output_tokens" if status == "incomplete"
                            else None,
                            error={"code": "server_error", "message": "boom"}
                            if status == "failed" else None)
    validate("Response", final)
    for state in ("queued", "in_progress", "cancelled"):
        validate("Response", in_state(final, state))
    for event in response_events(final):
        validate("ResponseStreamEvent", event)
