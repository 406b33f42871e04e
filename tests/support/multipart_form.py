"""Reading what a client sent: an HTTP request body (``Content-Length`` or chunked) and a
``multipart/form-data`` form, for the stand-ins and the encoder's tests.

    body = read_body(handler.rfile, handler.headers)
    form = parse_form(handler.headers["Content-Type"], body)
    form.text("model"), form.file("file").data, form.as_request()   # the last for the contract
"""

from __future__ import annotations

import email.parser
import email.policy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO
from urllib.parse import unquote


class FormError(ValueError):
    """Not a multipart form a server could read."""


@dataclass(frozen=True)
class FormFile:
    filename: str
    content_type: str
    data: bytes


@dataclass
class Form:
    """The parts in order: text fields, and files."""

    texts: list[tuple[str, str]] = field(default_factory=list)
    files: dict[str, list[FormFile]] = field(default_factory=dict)

    def text(self, name: str) -> str | None:
        return next((value for key, value in self.texts if key == name), None)

    def texts_of(self, name: str) -> list[str]:
        return [value for key, value in self.texts if key == name]

    def file(self, name: str) -> FormFile | None:
        found = self.files.get(name) or []
        return found[0] if found else None

    def as_request(self, arrays: frozenset[str] = frozenset(),
                   numbers: frozenset[str] = frozenset(),
                   objects: frozenset[str] = frozenset()) -> dict[str, Any]:
        """The form as the JSON object the OpenAPI document describes it: files as a
        placeholder string, `name[]` fields (and `arrays`) as lists, `numbers` as numbers,
        `objects` read back from `name[key]` fields."""
        request: dict[str, Any] = {}
        for key, value in self.texts:
            if key.endswith("[]") or key in arrays:
                request.setdefault(key.removesuffix("[]"), []).append(value)
            elif "[" in key and key.endswith("]") and key.split("[", 1)[0] in objects:
                outer, inner = key[:-1].split("[", 1)
                request.setdefault(outer, {})[inner] = _number_or_text(value)
            elif key in numbers:
                request[key] = _number_or_text(value)
            else:
                request[key] = value
        for key in self.files:
            request[key] = "(binary)"
        return request


def _number_or_text(value: str) -> Any:
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def read_body(stream: BinaryIO, headers: Mapping[str, str], limit: int = 64 << 20) -> bytes:
    """The request body: by ``Content-Length``, or chunked (up to `limit` bytes)."""
    if headers.get("Transfer-Encoding", "").lower() == "chunked":
        parts = []
        total = 0
        while True:
            size = int(stream.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while stream.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            total += size
            if total > limit:
                raise FormError(f"body larger than {limit} bytes")
            parts.append(stream.read(size))
            stream.readline()
    length = int(headers.get("Content-Length") or 0)
    if length > limit:
        raise FormError(f"body larger than {limit} bytes")
    return stream.read(length)


def parse_form(content_type: str | None, body: bytes) -> Form:
    """The parts of a ``multipart/form-data`` body (names and file names unescaped the
    way browsers escape them)."""
    if not content_type or not content_type.lower().startswith("multipart/form-data"):
        raise FormError(f"not a multipart form: {content_type!r}")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode("latin-1") + body)
    if not message.is_multipart() or message.defects:
        raise FormError(f"malformed multipart body: {message.defects}")
    form = Form()
    for part in message.iter_parts():
        disposition = part.get("Content-Disposition")
        if disposition is None or part.get_content_disposition() != "form-data":
            raise FormError("a part without Content-Disposition: form-data")
        name = unquote(str(part.get_param("name", header="content-disposition") or ""))
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_param("filename", header="content-disposition")
        if filename is None:
            form.texts.append((name, data.decode("utf-8")))
        else:
            form.files.setdefault(name, []).append(
                FormFile(unquote(str(filename)), part.get_content_type(), data))
    return form
