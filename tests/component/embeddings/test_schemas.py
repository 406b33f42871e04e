"""Create Embeddings' metadata files, examples and stand-in answers: described, valid here
and for the official OpenAPI document."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from lib.embeddings.request import build_embeddings_request
from lib.errors import InputValidationError
from lib.validation import load_schema, to_json_schema, validate_input
from tests.support.openai_embeddings_routes import ANSWER_SCHEMA, REQUEST_SCHEMA, embeddings_answer
from tests.support.openapi_contract import validate
from tests.support.schema_dialect import dialect_problems

IN = "createEmbeddings.in.json"
OUT = Draft202012Validator(to_json_schema(load_schema("createEmbeddings.out.json")))
EXAMPLES = sorted((Path(__file__).resolve().parents[3] / "examples").glob("embeddings*.json"))
MODEL = "text-embedding-3-small"


@pytest.mark.parametrize(("name", "output"), [(IN, False), ("createEmbeddings.out.json", True)])
def test_every_field_is_titled_and_described(name: str, output: bool) -> None:
    assert dialect_problems(load_schema(name), output=output) == []


def test_the_examples_are_a_text_and_a_list() -> None:
    assert [path.name for path in EXAMPLES] == ["embeddings.json", "embeddings_list.json"]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_examples_are_valid_here_and_for_the_api(path: Path) -> None:
    body = json.loads(path.read_text())["body"]
    validate_input(body, IN)
    request = build_embeddings_request(body, MODEL)
    for batch in request.batches:
        validate(REQUEST_SCHEMA, request.body(batch))


@pytest.mark.parametrize(("body", "problem"), [
    ({}, "input is required"),
    ({"input": 3}, "input must be a string or an array, got number"),
    ({"input": []}, "input must have at least 1 item(s)"),
    ({"input": ["a", 5]}, "input[1] must be a string, got number"),
    ({"input": ["a", ""]}, "input[1] must not be empty"),
    ({"input": ""}, "input must not be empty"),
    ({"input": "a", "dimensions": 0}, "dimensions must be at least 1, got 0"),
    ({"input": "a", "encoding_format": "int8"},
     'encoding_format must be one of float, base64, got "int8"'),
])
def test_the_input_schema_refuses_by_field(body: dict, problem: str) -> None:
    with pytest.raises(InputValidationError) as caught:
        validate_input(body, IN)
    assert problem in caught.value.problems


@pytest.mark.parametrize("fmt", ["float", "base64"])
def test_stand_in_answers_pass_the_output_schema(fmt: str) -> None:
    status, answer = embeddings_answer({"model": MODEL, "input": ["a", "b"],
                                        "encoding_format": fmt, "dimensions": 4})
    assert status == 200
    assert [e.message for e in OUT.iter_errors(answer)] == []
    if fmt == "float":  # the document has no string form of an embedding
        validate(ANSWER_SCHEMA, answer)


def test_the_output_schema_takes_what_compatible_servers_send() -> None:
    """No usage, no object, an embedding per token (llama.cpp without pooling)."""
    answer = {"model": "smollm2", "data": [{"index": 0, "embedding": [[0.1, 0.2], [0.3, 0.4]]}]}
    assert [e.message for e in OUT.iter_errors(answer)] == []
