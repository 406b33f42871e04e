"""Moderate's metadata files, examples and stand-in answers: described, valid here and for
the official OpenAPI document."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from lib.errors import InputValidationError
from lib.moderations.request import build_moderation_request
from lib.validation import load_schema, to_json_schema, validate_input
from tests.support.openai_moderations_routes import (
    ANSWER_SCHEMA,
    FLAGGED_IMAGE_MARK,
    REQUEST_SCHEMA,
    moderation_answer,
)
from tests.support.openapi_contract import validate
from tests.support.schema_dialect import dialect_problems

IN = "moderate.in.json"
OUT = Draft202012Validator(to_json_schema(load_schema("moderate.out.json")))
EXAMPLES = sorted((Path(__file__).resolve().parents[3] / "examples").glob("moderate*.json"))
MODEL = "omni-moderation-latest"


@pytest.mark.parametrize(("name", "output"), [(IN, False), ("moderate.out.json", True)])
def test_every_field_is_titled_and_described(name: str, output: bool) -> None:
    assert dialect_problems(load_schema(name), output=output) == []


def test_the_examples_are_texts_and_a_text_with_an_image() -> None:
    assert [path.name for path in EXAMPLES] == ["moderate.json", "moderate_image.json"]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_examples_are_valid_here_and_for_the_api(path: Path) -> None:
    body = json.loads(path.read_text())["body"]
    validate_input(body, IN)
    validate(REQUEST_SCHEMA, build_moderation_request(body, MODEL))


@pytest.mark.parametrize(("body", "problem"), [
    ({}, "input is required"),
    ({"input": 3}, "input must be a string or an array, got number"),
    ({"input": []}, "input must have at least 1 item(s)"),
    ({"input": [7]}, "input[0] must be a string or an object, got number"),
    ({"input": [{"type": "audio"}]}, 'input[0].type must be one of text, image_url, got "audio"'),
    ({"input": [{"text": "a"}]}, "input[0].type is required"),
])
def test_the_input_schema_refuses_by_field(body: dict, problem: str) -> None:
    with pytest.raises(InputValidationError) as caught:
        validate_input(body, IN)
    assert problem in caught.value.problems


FLAGGED_IMAGE = "data:image/png;base64," + base64.b64encode(FLAGGED_IMAGE_MARK).decode()


@pytest.mark.parametrize(("value", "results"), [
    ("I will kill you", 1),
    (["fine", "I will kill you"], 2),
    ([{"type": "text", "text": "caption"},
      {"type": "image_url", "image_url": {"url": FLAGGED_IMAGE}}], 1),
])
def test_stand_in_answers_are_valid_for_the_api_and_the_output_schema(value, results) -> None:
    status, answer = moderation_answer({"model": MODEL, "input": value})
    assert status == 200
    validate(ANSWER_SCHEMA, answer)
    assert [e.message for e in OUT.iter_errors(answer)] == []
    assert len(answer["results"]) == results
    assert answer["results"][-1]["flagged"] is True


def test_the_stand_in_reads_the_image_and_refuses_what_the_api_could_not_fetch() -> None:
    status, answer = moderation_answer({"model": MODEL, "input": [
        {"type": "image_url", "image_url": {"url": "http://127.0.0.1:9/objects/1"}}]})
    assert status == 400
    assert answer["error"]["param"] == "input[0].image_url.url"


def test_the_output_schema_takes_the_older_text_models_answer() -> None:
    """text-moderation models: no category_applied_input_types; illicit null."""
    status, answer = moderation_answer({"model": "text-moderation-latest", "input": "hi"})
    assert status == 200
    for result in answer["results"]:
        del result["category_applied_input_types"]
        result["categories"]["illicit"] = None
    assert [e.message for e in OUT.iter_errors(answer)] == []
