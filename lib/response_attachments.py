"""Attachments of a Responses API input: images and files the model cannot fetch itself.

The same rules as Send Request's (``lib.attachments``), applied to the Responses input
parts: ``input_image.image_url`` and ``input_file.file_url`` are downloaded and sent
inline (a data URL; for files ``file_data`` with a ``filename``) when OpenAI could not
fetch them (plain ``http``, the platform's object storage, hosts inside a network);
public ``https`` URLs are passed by reference, ``data:`` URLs as they are, other schemes
are refused. The same size limits apply, per attachment and per request.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from lib.attachments import Downloader, Fetch, Inlined, needs_download
from lib.errors import AttachmentError


def _inline_image(part: dict[str, Any], path: str, dl: Downloader, hosts: list[str]) -> None:
    url = part.get("image_url")
    if isinstance(url, str) and needs_download(url, internal_hosts=hosts):
        part["image_url"] = dl.image(url, path)


def _inline_file(
    part: dict[str, Any], path: str, dl: Downloader, hosts: list[str], index: int
) -> None:
    url = part.get("file_url")
    if not isinstance(url, str) or not url.strip():
        return
    url = url.strip()
    if url.lower().startswith("data:"):
        del part["file_url"]
        part["file_data"] = url
    elif needs_download(url, internal_hosts=hosts):  # public https: OpenAI fetches it
        filename = part.get("filename") if isinstance(part.get("filename"), str) else None
        del part["file_url"]
        part["file_data"], part["filename"] = dl.file(url, filename, path, index)


def _parts(input_value: Any) -> Iterable[tuple[str, dict[str, Any]]]:
    """`(path, part)` for every content part of every message item of `input`."""
    if not isinstance(input_value, list):
        return
    for i_index, item in enumerate(input_value):
        content = item.get("content") if isinstance(item, dict) else None
        if not isinstance(content, list):
            continue
        for p_index, part in enumerate(content):
            if isinstance(part, dict):
                yield f"input[{i_index}].content[{p_index}]", part


def inline_response_attachments(
    body: dict[str, Any], fetch: Fetch, *, internal_hosts: Iterable[str] = ()
) -> tuple[dict[str, Any], list[Inlined]]:
    """A copy of `body` whose `input` has every attachment that needs it inlined, and
    what was downloaded (for the log). Raises `AttachmentError` naming the place."""
    hosts = list(internal_hosts)
    result = copy.deepcopy(body)
    downloader = Downloader(fetch)
    files = 0
    for path, part in _parts(result.get("input")):
        kind = part.get("type")
        try:
            if kind == "input_image":
                _inline_image(part, path, downloader, hosts)
            elif kind == "input_file":
                files += 1
                _inline_file(part, path, downloader, hosts, files)
        except AttachmentError as err:
            text = str(err)
            raise AttachmentError(text if text.startswith("input[") else f"{path}: {text}") from err
    return result, downloader.inlined
