"""The Upload File requests: the form of POST /files and the body that attaches the
uploaded file to a vector store."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lib.openai.multipart import form_fields

# Fields of the message body that are ours (the source and where it goes), not the form's.
OWN_FIELDS = ("file", "filename", "vector_store_id", "attributes", "chunking_strategy")
VECTOR_STORE_FIELDS = ("attributes", "chunking_strategy")


def upload_fields(body: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The form's text fields: purpose, expires_after and whatever else the body adds
    (the file itself is the action's file part)."""
    return form_fields({name: value for name, value in body.items()
                        if name not in OWN_FIELDS})


def vector_store_id_of(body: Mapping[str, Any]) -> str | None:
    """The vector store to attach the file to, None when the body names none."""
    value = body.get("vector_store_id")
    if not isinstance(value, str):
        return None
    return value.strip() or None


def vector_store_file_request(file_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """The body of POST /vector_stores/{id}/files for the uploaded file."""
    extra = {name: body[name] for name in VECTOR_STORE_FIELDS if body.get(name) is not None}
    return {"file_id": file_id, **extra}
