"""The images made: their types and names, and the outgoing body of Generate Image and
Edit Image (the API's answer, each image replaced by the attachment that holds it)."""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping, Sequence
from typing import Any

from lib.attachments.inline import sniff_content_type
from lib.images.attachments import EXTENSIONS, PNG, TYPES_BY_EXTENSION
from lib.openai.errors import OpenAIError

IMAGE_NAME = "image"
# What an answer's image carries besides the image itself: kept in the body.
DROPPED_IMAGE_FIELDS = ("b64_json", "url")  # the image, and a link that expires (signed)
DEFAULT_TYPE = PNG


def generated_type(head: bytes, *formats: Any) -> str:
    """The media type of an image made: told by its first bytes, else by the first format
    named (the answer's ``output_format``, then the request's), else png."""
    sniffed = sniff_content_type(head)
    if sniffed is not None and sniffed.startswith("image/"):
        return sniffed
    for name in formats:
        if isinstance(name, str) and name.lower() in TYPES_BY_EXTENSION:
            return TYPES_BY_EXTENSION[name.lower()]
    return DEFAULT_TYPE


def generated_name(index: int, media_type: str) -> str:
    """``image-1.png``, ``image-2.jpg``... (the attachment's name in the message)."""
    extension = EXTENSIONS.get(media_type) or (mimetypes.guess_extension(media_type) or
                                               ".bin").lstrip(".")
    return f"{IMAGE_NAME}-{index + 1}.{extension}"


def answer_images(answer: Any) -> list[dict[str, Any]]:
    """The answer's images (``data``); an answer without any is the server's error."""
    data = answer.get("data") if isinstance(answer, dict) else None
    if not isinstance(data, list) or not data or not all(isinstance(i, dict) for i in data):
        raise OpenAIError("The server's answer holds no images; check the base URL and "
                          "the model")
    return data


def images_output(answer: Mapping[str, Any], attachments: Sequence[Mapping[str, Any]]
                  ) -> dict[str, Any]:
    """The answer with each image replaced by its attachment (name, size, content type),
    in the answer's order; the revised prompt, usage and the rest kept as they came."""
    images = []
    for image, attachment in zip(answer_images(answer), attachments, strict=True):
        kept = {key: value for key, value in image.items() if key not in DROPPED_IMAGE_FIELDS}
        images.append({"attachment": dict(attachment),
                       "revised_prompt": kept.pop("revised_prompt", None), **kept})
    return {**answer, "data": images}
