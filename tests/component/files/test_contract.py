"""The stand-in's file answers match the official OpenAPI document and pass Upload File's
output schema."""

from __future__ import annotations

import json

from jsonschema import Draft202012Validator

from lib.files.output import upload_output
from lib.openai.multipart import FilePart, MultipartForm, form_fields
from lib.validation import load_schema, to_json_schema
from tests.support.openai_files_routes import FilesRoutes
from tests.support.openapi_contract import validate

OUT = Draft202012Validator(to_json_schema(load_schema("uploadFile.out.json")))
UPLOAD = MultipartForm(
    fields=form_fields({"purpose": "assistants",
                        "expires_after": {"anchor": "created_at", "seconds": 3600}}),
    files=[FilePart("file", "a.txt", lambda: [b"hello"], "text/plain", 5)])
FORM = b"".join(UPLOAD.body())
HEADERS = {"Content-Type": UPLOAD.content_type}


def test_upload_attach_and_poll_answer_as_the_api_does() -> None:
    violations: list[str] = []
    routes = FilesRoutes(validate, violations)
    uploaded = routes.answer("POST", "/v1/files", HEADERS, FORM).json
    validate("OpenAIFile", uploaded)
    assert (uploaded["bytes"], uploaded["filename"]) == (5, "a.txt")
    attach = json.dumps({"file_id": uploaded["id"], "attributes": {"year": 2025}}).encode()
    attached = routes.answer("POST", "/v1/vector_stores/vs_1/files", {}, attach).json
    validate("VectorStoreFileObject", attached)
    assert attached["status"] == "in_progress"
    polled = routes.answer("GET", f"/v1/vector_stores/vs_1/files/{uploaded['id']}", {},
                           b"").json
    validate("VectorStoreFileObject", polled)
    assert polled["status"] == "completed"
    assert list(OUT.iter_errors(upload_output(uploaded, polled))) == []
    assert list(OUT.iter_errors(upload_output(uploaded, None))) == []
    # the real API sends these as null, where the document says text
    real = uploaded | {"status_details": None, "expires_at": None}
    assert list(OUT.iter_errors(upload_output(real, None))) == []
    assert violations == []


def test_a_failed_indexing_answers_with_its_last_error() -> None:
    routes = FilesRoutes(validate, [], indexing_polls=0,
                         indexing_error={"code": "unsupported_file", "message": "no"})
    uploaded = routes.answer("POST", "/v1/files", HEADERS, FORM).json
    attach = json.dumps({"file_id": uploaded["id"]}).encode()
    attached = routes.answer("POST", "/v1/vector_stores/vs_1/files", {}, attach).json
    validate("VectorStoreFileObject", attached)
    assert (attached["status"], attached["last_error"]["code"]) == ("failed", "unsupported_file")
