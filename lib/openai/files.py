"""The file calls: upload a file (a multipart form), attach it to a vector store and ask
how its indexing goes. (The vector store file calls live here, not in a module of their
own: the only action that makes them is the upload.)"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from lib.openai.client import OpenAIClient
from lib.openai.endpoints import naming_endpoint
from lib.openai.errors import OpenAIError
from lib.openai.multipart import MultipartForm
from lib.openai.paths import FILES_PATH, VECTOR_STORES_PATH


def vector_store_files_path(vector_store_id: str) -> str:
    """``/vector_stores/{id}/files``, the id escaped (it comes from the message)."""
    return f"{VECTOR_STORES_PATH}/{quote(vector_store_id, safe='')}/files"


def upload_file(
    client: OpenAIClient, form: MultipartForm, *, timeout_s: float, logger: Any = None,
    stop: threading.Event | None = None,
) -> dict[str, Any]:
    """POST /files: the File object of the upload (a server without the endpoint fails
    with an error naming it). Sent at most once once it may have reached the server (a
    retry after a timeout or a 5xx could store the file twice); a 429 is tried again."""
    with naming_endpoint(f"POST {FILES_PATH}"):
        answer = client.request_form(FILES_PATH, form, timeout_s=timeout_s, logger=logger,
                                     stop=stop, idempotent=False)
    return _with_id(answer, "file")


def attach_to_vector_store(
    client: OpenAIClient, vector_store_id: str, body: Mapping[str, Any], *,
    timeout_s: float, logger: Any = None, stop: threading.Event | None = None,
) -> dict[str, Any]:
    """POST /vector_stores/{id}/files: the vector store file (usually still in progress)."""
    answer = client.request_json("POST", vector_store_files_path(vector_store_id), body,
                                 timeout_s=timeout_s, logger=logger, stop=stop)
    return _with_id(answer, "vector store file")


def retrieve_vector_store_file(
    client: OpenAIClient, vector_store_id: str, file_id: str, *, timeout_s: float,
    logger: Any = None, stop: threading.Event | None = None,
) -> dict[str, Any]:
    """GET /vector_stores/{id}/files/{file_id}: the vector store file as it is now."""
    path = f"{vector_store_files_path(vector_store_id)}/{quote(file_id, safe='')}"
    return client.request_json("GET", path, timeout_s=timeout_s, logger=logger, stop=stop)


def _with_id(answer: dict[str, Any] | str, what: str) -> dict[str, Any]:
    if not isinstance(answer, dict) or not isinstance(answer.get("id"), str) \
            or not answer["id"]:
        raise OpenAIError(f"The server answered a {what} without an id; check the base URL")
    return answer
