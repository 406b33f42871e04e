"""The images API calls: generations (a JSON body) and edits (a multipart form).

An answer holds its images in base64 (``b64_json``), up to ten of them of tens of
megabytes each: it is read as it arrives, each image decoded into a sink of the caller's
(``lib.openai.base64_fields``), never held whole. Both calls make images that are billed,
so neither is sent again once it may have reached the server (``idempotent=False``: a
timeout, a broken connection or a 5xx is a ``NotResentError``; a 429, refused before any
work, is tried again). A server without the endpoint fails with an error naming it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from lib.openai.base64_fields import FieldLimits, MalformedAnswerError, Sink, decode_fields
from lib.openai.client import OpenAIClient
from lib.openai.endpoints import naming_endpoint
from lib.openai.limits import (
    MAX_GENERATED_IMAGE_BYTES,
    MAX_IMAGE_ANSWER_REST_BYTES,
    max_image_answer_bytes,
)
from lib.openai.multipart import MultipartForm
from lib.openai.paths import IMAGE_EDITS_PATH, IMAGE_GENERATIONS_PATH

IMAGE_FIELD = "b64_json"


@dataclass(frozen=True)
class ImagesAnswer:
    """The answer, its images replaced by their numbers (``"b64_json": 0``), and how many
    bytes each image had decoded (by number)."""

    document: dict[str, Any]
    sizes: list[int]


def create_images(
    client: OpenAIClient, body: Mapping[str, Any], open_sink: Callable[[int], Sink], *,
    images: int, timeout_s: float, logger: Any = None, stop: threading.Event | None = None,
) -> ImagesAnswer:
    """POST /images/generations asking for `images` images; image `n` is written to
    ``open_sink(n)``."""
    return _images_call(client, IMAGE_GENERATIONS_PATH, body, open_sink, images=images,
                        timeout_s=timeout_s, logger=logger, stop=stop)


def edit_images(
    client: OpenAIClient, form: MultipartForm, open_sink: Callable[[int], Sink], *,
    images: int, timeout_s: float, logger: Any = None, stop: threading.Event | None = None,
) -> ImagesAnswer:
    """POST /images/edits (the form's files read while they are sent) asking for `images`
    images; image `n` is written to ``open_sink(n)``."""
    return _images_call(client, IMAGE_EDITS_PATH, form, open_sink, images=images,
                        timeout_s=timeout_s, logger=logger, stop=stop)


def _images_call(
    client: OpenAIClient, path: str, body: Mapping[str, Any] | MultipartForm,
    open_sink: Callable[[int], Sink], *, images: int, timeout_s: float, logger: Any,
    stop: threading.Event | None,
) -> ImagesAnswer:
    limits = FieldLimits(max_fields=images, max_field_bytes=MAX_GENERATED_IMAGE_BYTES,
                         max_rest_bytes=MAX_IMAGE_ANSWER_REST_BYTES)
    with naming_endpoint(f"POST {path}"):
        answer = client.open_answer(path, body, max_bytes=max_image_answer_bytes(images),
                                    timeout_s=timeout_s, logger=logger, stop=stop,
                                    idempotent=False)
    with answer:
        document, sizes = decode_fields(answer.chunks, IMAGE_FIELD, open_sink, limits,
                                        answer.request_id)
    if not isinstance(document, dict):
        raise MalformedAnswerError("The server's answer is not a JSON object; check the base "
                                   "URL", request_id=answer.request_id)
    return ImagesAnswer(document, sizes)
