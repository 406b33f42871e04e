"""Attachments of a Chat Completions body: images and files the model cannot fetch itself
are sent inline.

Rules (the README repeats them for users):

- ``file.file_url`` (an elastic.io extension, not an OpenAI field) is always downloaded and
  sent as ``file.file_data`` (a data URL) with a ``filename``;
- ``image_url.url`` is downloaded and sent as a data URL when OpenAI could not fetch it
  (``lib.attachments.inline``); public ``https`` images are passed by reference;
- ``data:`` URLs are sent as they are, and count against the same size limits; bare
  base64 in ``file_data`` gets the data URL prefix its file name tells.

This module only walks the body; the pieces are ``lib.attachments``'.
"""

from __future__ import annotations

import copy
import mimetypes
from typing import Any

from lib.attachments.downloads import Downloads
from lib.attachments.inline import (
    Inlined,
    count_file_data,
    inline_file_url,
    inline_image_url,
    is_data_url,
)
from lib.content_parts import content_parts


def _inline_image(part: dict[str, Any], path: str, downloads: Downloads,
                  inlined: list[Inlined]) -> None:
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, dict) else None
    if not isinstance(url, str) or not isinstance(image, dict):
        return
    inline = inline_image_url(url, f"{path}.image_url.url", downloads, inlined)
    if inline is not None:
        image["url"] = inline


def _inline_file(part: dict[str, Any], path: str, downloads: Downloads, index: int,
                 inlined: list[Inlined]) -> None:
    file = part.get("file")
    if not isinstance(file, dict):
        return
    url = file.pop("file_url", None)
    if isinstance(url, str) and url.strip():
        place = f"{path}.file.file_url"
        if not is_data_url(url, place):
            file["file_data"], file["filename"] = inline_file_url(
                url, file.get("filename"), place, downloads=downloads, index=index,
                inlined=inlined)
            return
        file["file_data"] = url.strip()
    raw = file.get("file_data")
    count_file_data(raw, f"{path}.file.file_data", downloads)
    if isinstance(raw, str) and raw and not raw.startswith("data:"):
        # Bare base64: the API wants a data URL; the file name tells the type.
        guessed = mimetypes.guess_type(file.get("filename") or "")[0]
        if guessed:
            file["file_data"] = f"data:{guessed};base64,{raw}"


def has_attachments(messages: list[dict[str, Any]]) -> bool:
    """Whether `messages` hold a part that `inline_attachments` may download (an image or
    a file): without one, inlining is a copy, with no I/O."""
    return any(part.get("type") in ("image_url", "file")
               for _path, part in content_parts(messages, "messages"))


def inline_attachments(
    messages: list[dict[str, Any]], downloads: Downloads
) -> tuple[list[dict[str, Any]], list[Inlined]]:
    """A copy of `messages` with every attachment that needs it downloaded and inlined.

    `messages` is expected to be valid (see ``lib.validation``). Returns the new list and
    what was downloaded (for the log). Raises an :class:`AttachmentError` (a subclass per
    cause) whose text starts with the place in the body, e.g.
    ``messages[0].content[1].file.file_url: ...``.
    """
    result = copy.deepcopy(messages)
    inlined: list[Inlined] = []
    count = 0
    for path, part in content_parts(result, "messages"):
        kind = part.get("type")
        if kind == "image_url":
            _inline_image(part, path, downloads, inlined)
        elif kind == "file":
            count += 1
            _inline_file(part, path, downloads, count, inlined)
    return result, inlined
