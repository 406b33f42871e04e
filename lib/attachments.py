"""Attachments: images and files the model cannot fetch itself are sent inline.

Rules (the README repeats them for users):

- ``file.file_url`` (an elastic.io extension, not an OpenAI field) is always downloaded and
  sent as ``file.file_data`` (a data URL) with a ``filename``;
- ``image_url.url`` is downloaded and sent as a data URL when OpenAI could not fetch it:
  plain ``http``, the platform's object storage, and hosts that only exist inside a
  network (IP addresses of private ranges, ``localhost``, single-label names, ``.local``,
  ``.internal``, ``.svc``, ...). Public ``https`` images are passed by reference: OpenAI
  fetches them, and the request stays small;
- ``data:`` URLs are sent as they are; other schemes (``file:``, ``ftp:``) are refused.

Sizes are limited per attachment and per request. Nothing here logs or puts into a
message the content of an attachment, or the query string of its URL (signatures).
"""

from __future__ import annotations

import base64
import copy
import ipaddress
import mimetypes
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from lib.errors import AttachmentError
from lib.redaction import url_for_humans

MIB = 1024 * 1024
MAX_IMAGE_BYTES = 20 * MIB  # OpenAI's limit for one image
MAX_FILE_BYTES = 32 * MIB  # OpenAI's limit for file inputs (PDF) in one request
MAX_TOTAL_BYTES = 50 * MIB  # all downloads of one request together

INTERNAL_SUFFIXES = (
    ".local", ".localdomain", ".internal", ".intranet", ".lan", ".corp", ".home.arpa",
    ".svc", ".cluster.local",
)
DEFAULT_FILE_TYPE = "application/octet-stream"

# (content type, leading bytes)
_MAGIC: tuple[tuple[str, bytes], ...] = (
    ("application/pdf", b"%PDF-"),
    ("image/png", b"\x89PNG\r\n\x1a\n"),
    ("image/jpeg", b"\xff\xd8\xff"),
    ("image/gif", b"GIF87a"),
    ("image/gif", b"GIF89a"),
)

# (url, max_bytes) -> (content, content type from the server or None)
Fetch = Callable[[str, int], tuple[bytes, str | None]]


@dataclass(frozen=True)
class Inlined:
    """What was downloaded, for the log: never the content."""

    kind: str  # "image" or "file"
    url: str  # redacted
    size: int
    content_type: str
    path: str  # where in the body, e.g. messages[0].content[1]


def _is_internal_host(host: str, extra_hosts: Iterable[str]) -> bool:
    host = host.lower().rstrip(".")
    if not host or host in {h.lower() for h in extra_hosts}:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host == "localhost" or "." not in host or host.endswith(INTERNAL_SUFFIXES)
    return not address.is_global


def _split_url(url: str) -> Any:
    """``urlsplit`` with the port checked; a malformed URL is the user's error."""
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError when out of range
    except ValueError as exc:
        raise AttachmentError(f"invalid URL ({exc})") from None
    return parts


def needs_download(url: str, *, internal_hosts: Iterable[str] = ()) -> bool:
    """Whether an ``image_url.url`` must be downloaded and sent inline (see module doc)."""
    parts = _split_url(url.strip())
    scheme = parts.scheme.lower()
    if scheme == "data":
        return False
    if scheme not in ("http", "https"):
        raise AttachmentError(
            f"unsupported URL scheme {scheme or '(none)'!r}: use https, http or a data: URL"
        )
    return scheme == "http" or _is_internal_host(parts.hostname or "", internal_hosts)


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
    name = PurePosixPath(unquote(urlsplit(url).path)).name
    if name and PurePosixPath(name).suffix:
        return name
    extension = mimetypes.guess_extension(content_type) or ""
    return f"attachment-{index}{extension}"


class _Downloader:
    """Downloads with the per-kind and per-request budgets."""

    def __init__(self, fetch: Fetch) -> None:
        self._fetch = fetch
        self.total = 0
        self.inlined: list[Inlined] = []

    def get(self, url: str, kind: str, limit: int, path: str) -> tuple[bytes, str | None]:
        shown = url_for_humans(url)
        allowed = min(limit, MAX_TOTAL_BYTES - self.total)
        if allowed <= 0:
            raise AttachmentError(
                f"{path}: attachments of one request exceed {MAX_TOTAL_BYTES // MIB} MiB together"
            )
        try:
            data, header = self._fetch(url, allowed)
        except Exception as err:
            if isinstance(err, AttachmentError) or not getattr(err, "is_user_error", False):
                raise  # ours or the storage's failure (5xx, network) stays what it is
            reason = str(err)
            if shown not in reason:
                reason = f"could not download the {kind} {shown}: {reason}"
            raise AttachmentError(f"{path}: {reason}") from err
        if len(data) > allowed:
            which = (
                f"the {kind} limit of {limit // MIB} MiB"
                if allowed == limit
                else f"the limit of {MAX_TOTAL_BYTES // MIB} MiB for all attachments of a request"
            )
            raise AttachmentError(f"{path}: the {kind} {shown} is larger than {which}")
        self.total += len(data)
        return data, header


def _inline_image(part: dict[str, Any], path: str, dl: _Downloader, hosts: list[str]) -> None:
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, dict) else None
    if not isinstance(url, str) or not needs_download(url, internal_hosts=hosts):
        return
    data, header = dl.get(url, "image", MAX_IMAGE_BYTES, path)
    content_type = content_type_of(data, header, None)
    if not content_type.startswith("image/"):
        raise AttachmentError(
            f"{path}: {url_for_humans(url)} is not an image (content type {content_type})"
        )
    image["url"] = data_url(data, content_type)
    dl.inlined.append(Inlined("image", url_for_humans(url), len(data), content_type, path))


def _inline_file(part: dict[str, Any], path: str, dl: _Downloader, index: int) -> None:
    file = part.get("file")
    if not isinstance(file, dict):
        return
    url = file.pop("file_url", None)
    filename = file.get("filename")
    if isinstance(url, str) and url.strip():
        url = url.strip()
        if _split_url(url).scheme.lower() == "data":
            file["file_data"] = url
        else:
            needs_download(url)  # refuses file:, ftp:, ...
            data, header = dl.get(url, "file", MAX_FILE_BYTES, path)
            content_type = content_type_of(data, header, filename)
            file["file_data"] = data_url(data, content_type)
            if not filename:
                file["filename"] = filename_for(url, content_type, index)
            dl.inlined.append(Inlined("file", url_for_humans(url), len(data), content_type, path))
    raw = file.get("file_data")
    if isinstance(raw, str) and raw and not raw.startswith("data:"):
        # Bare base64: the API wants a data URL; the file name tells the type.
        guessed = mimetypes.guess_type(file.get("filename") or "")[0]
        if guessed:
            file["file_data"] = f"data:{guessed};base64,{raw}"


def inline_attachments(
    messages: list[dict[str, Any]], fetch: Fetch, *, internal_hosts: Iterable[str] = ()
) -> tuple[list[dict[str, Any]], list[Inlined]]:
    """A copy of `messages` with every attachment that needs it downloaded and inlined.

    `messages` is expected to be valid (see ``lib.validation``). Returns the new list and
    what was downloaded (for the log). Raises :class:`AttachmentError` with the place in
    the body, the redacted URL and the reason.
    """
    hosts = list(internal_hosts)
    result = copy.deepcopy(messages)
    downloader = _Downloader(fetch)
    count = 0
    for m_index, message in enumerate(result):
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for p_index, part in enumerate(content):
            if not isinstance(part, dict):
                continue
            path = f"messages[{m_index}].content[{p_index}]"
            kind = part.get("type")
            try:
                if kind == "image_url":
                    _inline_image(part, path, downloader, hosts)
                elif kind == "file":
                    count += 1
                    _inline_file(part, path, downloader, count)
            except AttachmentError as err:
                text = str(err)
                raise AttachmentError(
                    text if text.startswith("messages[") else f"{path}: {text}"
                ) from err
    return result, downloader.inlined
