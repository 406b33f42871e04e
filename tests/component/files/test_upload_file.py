"""Upload File through `process`: the file from the object storage stand-in streamed to
the OpenAI stand-in's POST /files, then into a vector store until indexed."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from lib.actions import upload_file
from lib.files.indexing import FileNotIndexableError
from lib.openai.errors import NotResentError
from lib.validation import load_schema, to_json_schema
from tests.support.action_support import STORAGE_TOKEN, FakeSelfWithFiles, cfg
from tests.support.object_storage import ObjectStorageStandIn
from tests.support.openai_replies import Reply
from tests.support.openai_standin import OpenAIStandIn, rate_limited

OUT = Draft202012Validator(to_json_schema(load_schema("uploadFile.out.json")))
CONTENT = b"%PDF-1.7\n" + b"x" * 5000


def run(standin: OpenAIStandIn, storage: ObjectStorageStandIn, body: dict,
        attachments: dict, **config: object) -> dict:
    me = FakeSelfWithFiles(storage.url, STORAGE_TOKEN)
    settings = cfg(baseUrl=standin.url, **config)
    del settings["model"]  # Upload File has no Model field
    return upload_file.process(me, {"id": "m1", "body": body, "attachments": attachments},
                               settings, {})


def handbook(storage: ObjectStorageStandIn) -> dict:
    return {"handbook.pdf": {"url": storage.object_url(storage.put(CONTENT, "application/pdf")),
                             "size": len(CONTENT), "content-type": "application/pdf"}}


def test_the_file_is_uploaded_under_its_attachments_name(
        openai_standin: OpenAIStandIn, object_storage: ObjectStorageStandIn) -> None:
    result = run(openai_standin, object_storage, {"purpose": "user_data"},
                 handbook(object_storage))
    [stored] = openai_standin.files.files.values()
    assert (stored.filename, stored.purpose, stored.content_type, stored.data) == (
        "handbook.pdf", "user_data", "application/pdf", CONTENT)
    assert result["body"]["file"]["id"] == stored.id
    assert result["body"]["vector_store_file"] is None
    assert list(OUT.iter_errors(result["body"])) == []


def test_with_a_vector_store_the_step_waits_until_the_file_is_indexed(
        openai_standin: OpenAIStandIn, object_storage: ObjectStorageStandIn,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("lib.files.indexing.FIRST_POLL_S", 0.01)
    openai_standin.files.indexing_polls = 2
    body = {"purpose": "assistants", "filename": "Handbuch.pdf", "vector_store_id": "vs_1",
            "attributes": {"year": 2025}}
    result = run(openai_standin, object_storage, body, handbook(object_storage))
    indexed = result["body"]["vector_store_file"]
    assert (indexed["status"], indexed["vector_store_id"], indexed["attributes"]) == (
        "completed", "vs_1", {"year": 2025})
    assert result["body"]["file"]["filename"] == "Handbuch.pdf"
    [attached] = openai_standin.files.attached.values()
    assert attached.polls == 2
    assert list(OUT.iter_errors(result["body"])) == []


def test_a_file_the_vector_store_refuses_is_the_users_error(
        openai_standin: OpenAIStandIn, object_storage: ObjectStorageStandIn) -> None:
    openai_standin.files.indexing_polls = 0
    openai_standin.files.indexing_error = {"code": "unsupported_file",
                                           "message": "File type not supported"}
    with pytest.raises(FileNotIndexableError, match="File type not supported"):
        run(openai_standin, object_storage, {"purpose": "assistants", "vector_store_id": "vs_1"},
            handbook(object_storage))


def test_an_upload_that_may_have_arrived_is_not_sent_twice(
        openai_standin: OpenAIStandIn, object_storage: ObjectStorageStandIn) -> None:
    openai_standin.script(Reply(500, {"error": {"message": "boom", "type": "server_error"}}))
    with pytest.raises(NotResentError, match="not sent again"):
        run(openai_standin, object_storage, {"purpose": "user_data"}, handbook(object_storage))
    assert len(openai_standin.requests) == 1


def test_a_rate_limited_upload_is_tried_again(
        openai_standin: OpenAIStandIn, object_storage: ObjectStorageStandIn) -> None:
    openai_standin.script(rate_limited(0))
    result = run(openai_standin, object_storage, {"purpose": "user_data"},
                 handbook(object_storage))
    assert result["body"]["file"]["bytes"] == len(CONTENT)
    assert len(openai_standin.requests) == 2
    assert len(object_storage.calls_to("GET")) == 2  # the file read again for the retry
