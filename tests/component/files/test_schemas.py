"""Upload File's metadata: the platform's dialect, and inputs the API takes."""

from __future__ import annotations

import pytest

from lib.errors import InputValidationError
from lib.files.request import upload_fields, vector_store_file_request
from lib.validation import load_schema, validate_input
from tests.support.multipart_form import Form
from tests.support.openapi_contract import validate
from tests.support.schema_dialect import dialect_problems


@pytest.mark.parametrize("name", ["uploadFile.in.json", "uploadFile.out.json"])
def test_the_schema_is_in_the_platforms_dialect(name: str) -> None:
    assert dialect_problems(load_schema(name), output=name.endswith(".out.json")) == []


@pytest.mark.parametrize("body", [
    {"purpose": "user_data"},
    {"file": "orders.jsonl", "purpose": "batch",
     "expires_after": {"anchor": "created_at", "seconds": 86400}},
    {"file": "https://example.com/handbook.pdf", "filename": "handbook.pdf",
     "purpose": "assistants", "vector_store_id": "vs_abc123",
     "attributes": {"department": "sales", "year": 2025, "public": True},
     "chunking_strategy": {"type": "static", "static": {"max_chunk_size_tokens": 800,
                                                        "chunk_overlap_tokens": 400}}},
])
def test_valid_inputs_make_requests_the_api_takes(body: dict) -> None:
    validate_input(body, "uploadFile.in.json")
    request = Form(texts=upload_fields(body)).as_request(objects=frozenset({"expires_after"}))
    validate("CreateFileRequest", {**request, "file": "(binary)"})
    if body.get("vector_store_id"):
        validate("CreateVectorStoreFileRequest", vector_store_file_request("file-1", body))


@pytest.mark.parametrize(("body", "problem"), [
    ({}, "purpose is required"),
    ({"purpose": "fine-tune-results"}, "purpose must be one of"),
    ({"purpose": "batch", "expires_after": {"anchor": "created_at", "seconds": 60}},
     "expires_after.seconds must be at least 3600"),
])
def test_invalid_inputs_are_named(body: dict, problem: str) -> None:
    with pytest.raises(InputValidationError, match=problem):
        validate_input(body, "uploadFile.in.json")
