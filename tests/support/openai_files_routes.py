"""The stand-in's file endpoints: uploads (multipart) and vector store files.

    routes = FilesRoutes(validator)
    routes.answer("POST", "/v1/files", headers, raw_body) -> Reply

- ``POST /v1/files`` stores the upload (``files[id]``: name, purpose, size, bytes) and
  answers its File object;
- ``POST /v1/vector_stores/{vs}/files`` attaches a stored file: ``in_progress`` at first,
  ``completed`` after ``indexing_polls`` polls of ``GET /v1/vector_stores/{vs}/files/{id}``
  (or ``failed`` with ``indexing_error``, or never for ``indexing_polls=None``).
Requests are checked against the official document (``CreateFileRequest``,
``CreateVectorStoreFileRequest``) when a validator is given.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.support.multipart_form import FormError, parse_form
from tests.support.openai_replies import (
    Reply,
    Validator,
    contract_refusal,
    error_body,
    json_object,
    not_json_object,
)

FILES = "/v1/files"
VECTOR_STORES = "/v1/vector_stores/"


@dataclass
class StoredFile:
    id: str
    filename: str
    purpose: str
    content_type: str
    data: bytes
    created_at: int
    expires_at: int | None = None

    def object(self) -> dict[str, Any]:
        """The File object of the API."""
        answer: dict[str, Any] = {
            "id": self.id, "object": "file", "bytes": len(self.data),
            "created_at": self.created_at, "filename": self.filename,
            "purpose": self.purpose, "status": "processed"}
        if self.expires_at is not None:
            answer["expires_at"] = self.expires_at
        return answer


@dataclass
class VectorStoreFile:
    file_id: str
    vector_store_id: str
    polls_left: int | None
    error: dict[str, str] | None
    attributes: dict[str, Any] | None = None
    polls: int = 0

    def object(self) -> dict[str, Any]:
        """The vector store file object, in its state now."""
        running = self.polls_left is None or self.polls_left > 0
        status = "in_progress" if running else "failed" if self.error else "completed"
        return {
            "id": self.file_id, "object": "vector_store.file", "usage_bytes": 1234,
            "created_at": 1_700_000_000, "vector_store_id": self.vector_store_id,
            "status": status, "last_error": self.error if status == "failed" else None,
            "chunking_strategy": {"type": "static", "static": {
                "max_chunk_size_tokens": 800, "chunk_overlap_tokens": 400}},
            "attributes": self.attributes or {}}


@dataclass
class FilesRoutes:
    validator: Validator | None = None
    violations: list[str] = field(default_factory=list)
    files: dict[str, StoredFile] = field(default_factory=dict)
    attached: dict[tuple[str, str], VectorStoreFile] = field(default_factory=dict)
    indexing_polls: int | None = 1
    indexing_error: dict[str, str] | None = None

    def handles(self, method: str, path: str) -> bool:
        return (method == "POST" and path == FILES) or path.startswith(VECTOR_STORES)

    def answer(self, method: str, path: str, headers: Mapping[str, str], raw: bytes) -> Reply:
        if path == FILES:
            return self._upload(headers, raw)
        store_id, _, rest = path.removeprefix(VECTOR_STORES).partition("/files")
        if method == "POST" and rest == "":
            return self._attach(store_id, raw)
        if method == "GET" and rest.startswith("/"):
            return self._poll(store_id, rest[1:])
        return Reply(404, error_body(f"Unknown path {path}", "invalid_request_error"))

    def _upload(self, headers: Mapping[str, str], raw: bytes) -> Reply:
        try:
            form = parse_form(headers.get("Content-Type"), raw)
        except FormError as exc:
            return Reply(400, error_body(f"Could not parse multipart form: {exc}",
                                         "invalid_request_error"))
        refused = self._check("CreateFileRequest",
                              form.as_request(objects=frozenset({"expires_after"})))
        if refused is not None:
            return refused
        upload = form.file("file")
        if upload is None:
            return Reply(400, error_body("file is required", "invalid_request_error", None,
                                         "file"))
        now = int(time.time())
        seconds = form.text("expires_after[seconds]")
        stored = StoredFile(id=f"file-{uuid.uuid4().hex[:22]}", filename=upload.filename,
                            purpose=form.text("purpose") or "", data=upload.data,
                            content_type=upload.content_type, created_at=now,
                            expires_at=now + int(seconds) if seconds else None)
        self.files[stored.id] = stored
        return Reply(json=stored.object())

    def _attach(self, store_id: str, raw: bytes) -> Reply:
        body = json_object(raw)
        if body is None:
            return not_json_object()
        refused = self._check("CreateVectorStoreFileRequest", body)
        if refused is not None:
            return refused
        file_id = body["file_id"]
        if file_id not in self.files:
            return Reply(404, error_body(f"No file found with id '{file_id}'.",
                                         "invalid_request_error"))
        attached = VectorStoreFile(file_id, store_id, self.indexing_polls, self.indexing_error,
                                   body.get("attributes"))
        self.attached[(store_id, file_id)] = attached
        return Reply(json=attached.object())

    def _poll(self, store_id: str, file_id: str) -> Reply:
        attached = self.attached.get((store_id, file_id))
        if attached is None:
            return Reply(404, error_body(f"No file found with id '{file_id}' in vector store "
                                         f"'{store_id}'.", "invalid_request_error"))
        attached.polls += 1
        if attached.polls_left:
            attached.polls_left -= 1
        return Reply(json=attached.object())

    def _check(self, schema: str, request: Any) -> Reply | None:
        return contract_refusal(self.validator, self.violations, schema, request)
