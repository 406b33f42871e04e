"""What every surface does with an attachment it sends inline: the pieces its walk over
the request body calls.

An image URL becomes a data URL when the model provider could not fetch it (plain
``http``, the platform's object storage, allow-listed hosts and hosts that only exist
inside a network; public ``https`` images are passed by reference); a file URL is
downloaded and sent as data with a file name; ``data:`` URLs are sent as they are and
count against the same size limits; other schemes (``file:``, ``ftp:``) are refused.
The content type is the server's, else told by the leading bytes, else by the file name.

What may be downloaded, and within which bounds, is ``lib.attachments.downloads``'s; the
walks over the bodies are the surfaces' (``lib.chat.attachments``,
``lib.responses.attachments``). Nothing here logs or puts into a message the content of
an attachment, or the query string of its URL (signatures).
"""

from __future__ import annotations

import base64
import mimetypes
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote

from lib.attachments.downloads import (
    MAX_FILE_BYTES,
    MAX_IMAGE_BYTES,
    Downloads,
    check_scheme,
    inline_size,
)
from lib.errors import AttachmentError
from lib.urls import split_url

DEFAULT_FILE_TYPE = "application/octet-stream"

# (content type, leading bytes)
_MAGIC: tuple[tuple[str, bytes], ...] = (
    ("application/pdf", b"%PDF-"),
    ("image/png", b"\x89PNG\r\n\x1a\n"),
    ("image/jpeg", b"\xff\xd8\xff"),
    ("image/gif", b"GIF87a"),
    ("image/gif", b"GIF89a"),
)


@dataclass(frozen=True)
class Inlined:
    """What was downloaded, for the log: never the content."""

    kind: str  # "image" or "file"
    url: str  # as it may be shown (no user info, query or fragment)
    size: int
    content_type: str
    path: str  # where in the body, e.g. messages[0].content[1].file.file_url


def log_inlined(logger: Any, inlined: list[Inlined]) -> None:
    """One log line per downloaded attachment: where, what, and its size and type."""
    for item in inlined:
        logger.info(
            "%s: %s %s sent inline (%d bytes, %s)",
            item.path, item.kind, item.url, item.size, item.content_type,
        )


def sniff_content_type(data: bytes) -> str | None:
    """The type told by the first bytes, for the formats the API takes."""
    for content_type, magic in _MAGIC:
        if data.startswith(magic):
            return content_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def content_type_of(data: bytes, header: str | None, filename: str | None) -> str:
    """Server header unless missing or generic, then the bytes, then the file name."""
    declared = (header or "").split(";", 1)[0].strip().lower()
    if declared and declared not in (DEFAULT_FILE_TYPE, "binary/octet-stream"):
        return declared
    guessed = mimetypes.guess_type(filename)[0] if filename else None
    return sniff_content_type(data) or guessed or DEFAULT_FILE_TYPE


def data_url(data: bytes, content_type: str) -> str:
    return f"data:{content_type};base64,{base64.b64encode(data).decode('ascii')}"


def filename_for(url: str, content_type: str, index: int) -> str:
    """The last path segment when it looks like a file name, else ``attachment-<n><ext>``."""
    name = PurePosixPath(unquote(split_url(url).path)).name
    if name and PurePosixPath(name).suffix:
        return name
    extension = mimetypes.guess_extension(content_type) or ""
    return f"attachment-{index}{extension}"


def inline_image_url(url: str, place: str, downloads: Downloads,
                     inlined: list[Inlined]) -> str | None:
    """The data URL to send instead of the image `url`, or None when `url` is sent as it
    is (a ``data:`` URL, counted against the limits; a public ``https`` URL)."""
    with at_place(place):
        if check_scheme(url) == "data":
            downloads.count_inline(inline_size(url), place, MAX_IMAGE_BYTES, "image")
            return None
        if downloads.policy.passes_by_reference(url):
            return None
        got = downloads.fetch(url, place, MAX_IMAGE_BYTES, "image")
    return image_data_url(got.data, got.content_type, got.shown_url, place, inlined)


def image_data_url(data: bytes, declared_type: str | None, shown: str, place: str,
                   inlined: list[Inlined]) -> str:
    """The data URL of an image read whole (`shown`: how it is named in texts); anything
    that is not an image is an `AttachmentError` naming `place`."""
    content_type = content_type_of(data, declared_type, None)
    if not content_type.startswith("image/"):
        raise AttachmentError(f"{place}: {shown} is not an image (content type {content_type})")
    inlined.append(Inlined("image", shown, len(data), content_type, place))
    return data_url(data, content_type)


def inline_file_url(url: str, filename: Any, place: str, *, downloads: Downloads, index: int,
                    inlined: list[Inlined]) -> tuple[str, str]:
    """The file at `url` (not a ``data:`` URL) downloaded: its data URL, and its name
    (`filename` when it is one, else taken from the URL or made up)."""
    with at_place(place):
        got = downloads.fetch(url, place, MAX_FILE_BYTES, "file")
    name = filename if isinstance(filename, str) and filename else None
    content_type = content_type_of(got.data, got.content_type, name)
    inlined.append(Inlined("file", got.shown_url, len(got.data), content_type, place))
    return data_url(got.data, content_type), name or filename_for(url.strip(), content_type,
                                                                   index)


def is_data_url(url: str, place: str) -> bool:
    """Whether a file URL is a ``data:`` URL (sent as it is); another scheme than http,
    https or data is an `AttachmentError` naming `place`."""
    with at_place(place):
        return check_scheme(url) == "data"


def count_file_data(raw: Any, place: str, downloads: Downloads) -> None:
    """Count a file carried in the body (`file_data`) against the limits."""
    if isinstance(raw, str) and raw:
        downloads.count_inline(inline_size(raw), place, MAX_FILE_BYTES, "file")


@contextmanager
def at_place(place: str) -> Iterator[None]:
    """Prefix the place in the body to an AttachmentError raised without one."""
    try:
        yield
    except AttachmentError as error:
        field = place.split("[", 1)[0].split(".", 1)[0]  # the body's field: messages, prompt
        if str(error).startswith((f"{field}[", f"{field}.")):  # it names its place
            raise
        raise type(error)(f"{place}: {error}") from error
