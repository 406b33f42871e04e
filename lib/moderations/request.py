"""Moderate: the request body, checked in the shapes the API takes.

`input` is a text, a list of texts, or a list of parts (``text`` and ``image_url``); the
API takes a list of texts or a list of parts, never both in one list. An image part's
``image_url.url`` may also be the name of an attachment of the message, or left out for
the message's only image attachment: ``lib.moderations.attachments`` turns those into
something the API takes before the request is sent.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from lib.errors import InputValidationError

TEXT = "text"
IMAGE_URL = "image_url"


@dataclass(frozen=True)
class ImageSlot:
    """An image part of the input: where it is, and what it names (None: nothing)."""

    index: int
    named: str | None

    @property
    def place(self) -> str:
        return f"input[{self.index}].image_url.url"


def input_problems(value: Any) -> list[str]:
    """What is wrong with a (schema-checked) `input`, one line per problem, by place."""
    if not isinstance(value, list):
        return []
    strings = [index for index, item in enumerate(value) if isinstance(item, str)]
    if strings and len(strings) < len(value):
        first = next(index for index, item in enumerate(value) if not isinstance(item, str))
        return [(f"input mixes texts (input[{strings[0]}]) and parts (input[{first}]): a list "
                "holds either texts or parts")]
    problems = []
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            continue
        if item.get("type") == TEXT and not isinstance(item.get("text"), str):
            problems.append(f"input[{index}].text is required in a text part")
        image = item.get("image_url")
        if item.get("type") == IMAGE_URL and image is not None and not isinstance(image, dict):
            problems.append(f"input[{index}].image_url must be an object with a url")
    return problems


def image_slots(value: Any) -> list[ImageSlot]:
    """The image parts of `input`, in order, with the URL or attachment name each gives."""
    if not isinstance(value, list):
        return []
    slots = []
    for index, item in enumerate(value):
        if isinstance(item, dict) and item.get("type") == IMAGE_URL:
            image = item.get("image_url")
            url = image.get("url") if isinstance(image, dict) else None
            named = url.strip() if isinstance(url, str) and url.strip() else None
            slots.append(ImageSlot(index, named))
    return slots


def build_moderation_request(body: dict[str, Any], model: str) -> dict[str, Any]:
    """The request for a (schema-checked) body and the step's model (a copy: the images
    are filled in later, see ``with_images``)."""
    problems = input_problems(body.get("input"))
    if problems:
        raise InputValidationError(problems)
    fields = {key: copy.deepcopy(value) for key, value in body.items() if key != "model"}
    return {"model": model, **fields}


def with_images(request: dict[str, Any], urls: dict[int, str]) -> dict[str, Any]:
    """`request` with the image part at each index of `urls` pointing at its URL."""
    value = request["input"]
    parts = [
        {**part, "image_url": {**(part.get("image_url") or {}), "url": urls[index]}}
        if index in urls else part
        for index, part in enumerate(value)
    ]
    return {**request, "input": parts}
