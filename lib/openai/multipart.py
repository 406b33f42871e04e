"""Streamed ``multipart/form-data`` bodies (the audio and file uploads of the API).

A form is text fields plus file parts; a file part's bytes come from a source that is
opened anew for every attempt (a retry sends the file again without having kept it). The
body is produced chunk by chunk as the connection takes it: no more than one chunk of a
file is in memory at a time, whatever its size. When every file's size is known up front,
the body knows its length (requests then sends ``Content-Length``); otherwise it is sent
with chunked transfer encoding.

A source that delivers more or fewer bytes than its part declared would make the
``Content-Length`` a lie: the body stops with :class:`SourceSizeError` (the connection is
dropped mid-request, so the server never sees a complete request).

Why not ``requests-toolbelt``'s ``MultipartEncoder``: it needs the length of every part
before it starts (a download of unknown size cannot be given to it), it reads its parts
through file objects (a download would need a wrapper with a fake ``len``), and an
encoder can be read once only, so a retry needs a new one anyway. The framing itself is
a few lines; the part headers are rendered by urllib3 (already a dependency), which
escapes field and file names the way browsers do.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from urllib3.fields import RequestField
from urllib3.filepost import choose_boundary

from lib.errors import AttachmentError
from lib.openai.errors import BadRequestError

CRLF = b"\r\n"
DEFAULT_FILE_CONTENT_TYPE = "application/octet-stream"

Source = Callable[[], Iterable[bytes]]


class SourceSizeError(AttachmentError):
    """A file's bytes did not match the size its part declared."""


@dataclass(frozen=True)
class FilePart:
    """One file of a form: `open()` gives its bytes (called once per attempt); `size` is
    what it will deliver, when known."""

    name: str
    filename: str
    open: Source = field(repr=False)
    content_type: str = DEFAULT_FILE_CONTENT_TYPE
    size: int | None = None


@dataclass(frozen=True)
class MultipartForm:
    """Text fields (in order; a name may repeat, e.g. ``timestamp_granularities[]``) and
    file parts."""

    fields: Sequence[tuple[str, str]] = ()
    files: Sequence[FilePart] = ()
    boundary: str = field(default_factory=choose_boundary)

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    @property
    def length(self) -> int | None:
        """The body's length in bytes; None when a file's size is unknown."""
        total = len(self._closing())
        for name, value in self.fields:
            total += len(self._text_head(name)) + len(value.encode("utf-8")) + len(CRLF)
        for part in self.files:
            if part.size is None:
                return None
            total += len(self._file_head(part)) + part.size + len(CRLF)
        return total

    def body(self) -> Iterable[bytes]:
        """A fresh body (the files opened anew): sized when `length` is known, so that
        requests sends ``Content-Length`` instead of chunked encoding."""
        length = self.length
        chunks = self._chunks()
        return chunks if length is None else SizedBody(chunks, length)

    def _chunks(self) -> Iterator[bytes]:
        for name, value in self.fields:
            yield self._text_head(name) + value.encode("utf-8") + CRLF
        for part in self.files:
            yield self._file_head(part)
            yield from _exactly(part)
            yield CRLF
        yield self._closing()

    def _text_head(self, name: str) -> bytes:
        return self._head(RequestField(name=name, data=""), None)

    def _file_head(self, part: FilePart) -> bytes:
        return self._head(RequestField(name=part.name, data=b"", filename=part.filename),
                          part.content_type)

    def _head(self, request_field: RequestField, content_type: str | None) -> bytes:
        request_field.make_multipart(content_type=content_type)
        return (f"--{self.boundary}\r\n".encode("latin-1")
                + request_field.render_headers().encode("utf-8"))

    def _closing(self) -> bytes:
        return f"--{self.boundary}--\r\n".encode("latin-1")


def _exactly(part: FilePart) -> Iterator[bytes]:
    """The part's bytes as its source gives them (empty chunks dropped), checked against
    the declared size."""
    sent = 0
    for chunk in part.open():
        if not chunk:
            continue
        sent += len(chunk)
        if part.size is not None and sent > part.size:
            raise SourceSizeError(
                f"{part.filename}: the file is larger than the {part.size} bytes it declared")
        yield chunk
    if part.size is not None and sent != part.size:
        raise SourceSizeError(
            f"{part.filename}: the file ended after {sent} of the {part.size} bytes it "
            "declared")


class SizedBody:
    """Chunks with a known total: requests reads ``len()`` for ``Content-Length`` and
    iterates the chunks into the connection one by one."""

    def __init__(self, chunks: Iterator[bytes], length: int) -> None:
        self._chunks = chunks
        self._length = length

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks


def form_fields(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A JSON object as the form's text fields, the way the official SDKs send one: an
    object as ``name[key]``, an array as repeated ``name[]``, true/false as text, numbers
    as JSON writes them; nulls are left out."""
    fields: list[tuple[str, str]] = []
    for name, value in values.items():
        _flatten(name, value, fields)
    return fields


def _flatten(name: str, value: Any, fields: list[tuple[str, str]]) -> None:
    if value is None:
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            _flatten(f"{name}[{key}]", item, fields)
    elif isinstance(value, list | tuple):
        for item in value:
            _flatten(f"{name}[]", item, fields)
    elif isinstance(value, str):
        fields.append((name, value))
    else:  # bool, int, float: true/false and numbers as JSON has them
        try:
            fields.append((name, json.dumps(value, allow_nan=False)))
        except (TypeError, ValueError):
            raise BadRequestError(f"{name} cannot be sent in a form: {value!r:.40}") from None
