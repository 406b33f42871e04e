"""Attachments of a Responses API input: images and files the model cannot fetch itself.

The same policy as Send Request's (``lib.attachments``), applied at every place of the
request that takes an image or a file (``lib.responses.request.ATTACHMENT_PLACES``: a
message's parts, a function call output's parts, a computer call's screenshot, a stored
prompt's variables, the image generation tool's mask): an ``image_url`` and an
``input_file``'s ``file_url`` are sent inline when OpenAI could not fetch them (the
platform's object storage, plain ``http``, allow-listed and internal hosts, each download
under the download policy): images as a data URL, files as ``file_data`` with a
``filename``. Public ``https`` URLs are passed by reference (OpenAI fetches them; the
Responses API takes ``file_url`` itself), ``data:`` URLs are sent as they are, and count
against the same size limits.
"""

from __future__ import annotations

import copy
from typing import Any

from lib.attachments.downloads import Downloads
from lib.attachments.inline import (
    Inlined,
    count_file_data,
    inline_file_url,
    inline_image_url,
    is_data_url,
)
from lib.responses.request import IMAGE, attachment_places


def _inline_image(part: dict[str, Any], path: str, downloads: Downloads,
                  inlined: list[Inlined]) -> None:
    url = part.get("image_url")
    if isinstance(url, str):
        inline = inline_image_url(url, f"{path}.image_url", downloads, inlined)
        if inline is not None:
            part["image_url"] = inline


def _inline_file(part: dict[str, Any], path: str, downloads: Downloads, index: int,
                 inlined: list[Inlined]) -> None:
    url = part.get("file_url")
    if isinstance(url, str) and url.strip():
        place = f"{path}.file_url"
        if is_data_url(url, place):
            del part["file_url"]
            part["file_data"] = url.strip()
        elif not downloads.policy.passes_by_reference(url):
            del part["file_url"]
            part["file_data"], part["filename"] = inline_file_url(
                url, part.get("filename"), place, downloads=downloads, index=index,
                inlined=inlined)
            return
    count_file_data(part.get("file_data"), f"{path}.file_data", downloads)


def has_attachments(body: dict[str, Any]) -> bool:
    """Whether `body` has an image or a file anywhere (only then may it need a download:
    a request without one is sent as it is, without a thread to download in)."""
    return next(attachment_places(body), None) is not None


def inline_response_attachments(
    body: dict[str, Any], downloads: Downloads
) -> tuple[dict[str, Any], list[Inlined]]:
    """A copy of `body` with every attachment that needs it inlined, and what was
    downloaded (for the log). Raises an `AttachmentError` (a subclass per cause) whose
    text starts with the place, e.g. ``input[0].content[1].file_url: ...``."""
    result = copy.deepcopy(body)
    inlined: list[Inlined] = []
    files = 0
    for path, part, kind in list(attachment_places(result)):
        if kind == IMAGE:
            _inline_image(part, path, downloads, inlined)
        else:
            files += 1
            _inline_file(part, path, downloads, files, inlined)
    return result, inlined
