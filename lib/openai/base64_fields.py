"""Base64 fields of a JSON answer, decoded into files while the answer streams in.

An image answer is a JSON object whose images are base64 strings (``b64_json``), up to
tens of megabytes each. Read whole and then parsed, each image would be held three times
(the answer's bytes, the parsed string, the decoded bytes). Instead the answer's chunks go
through :class:`Base64Fields`, which knows just enough JSON (strings, their escapes, which
string is a key): the value of every field with the given name is decoded as it arrives
and written to a sink of the caller's, and in the rest of the answer the string is
replaced by its number (0, 1, ...). The rest is small, and parsed at the end.

Every step is a search of a chunk (``bytes.find``, a one-character-class regex), never a
loop over single bytes; memory is one chunk, three pending base64 characters and the rest
of the answer (capped). The value of a field must be plain base64 (``\\/``, and the line
breaks some encoders add as ``\\n``, are the only escapes taken); anything else is a
malformed answer, not silently mangled data.
"""

from __future__ import annotations

import binascii
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from lib.openai.budget import AnswerBudget
from lib.openai.errors import AnswerTooLargeError, OpenAIError
from lib.openai.limits import MAX_ANSWER_VALUES

_QUOTE = ord('"')
_BACKSLASH = ord("\\")
_STRING_END = re.compile(rb'["\\]')
_KEY_COLON = re.compile(rb"[ \t\r\n]*:[ \t\r\n]*")
# The escapes a base64 value may carry: a JSON encoder may write "/" as "\/"; a MIME
# encoder breaks lines, which JSON writes as "\n" (and "\r").
_BASE64_ESCAPES = {ord("/"): b"/", ord("n"): b"", ord("r"): b""}
_OUT, _STRING, _FIELD = range(3)


class Sink(Protocol):
    def write(self, data: bytes, /) -> Any: ...


@dataclass(frozen=True)
class FieldLimits:
    """How many fields an answer may have, how large one may be decoded, and how large
    the rest of the answer may be: in bytes, and in JSON values once parsed
    (``lib.openai.budget``: a small text of tiny values takes many times its size)."""

    max_fields: int
    max_field_bytes: int
    max_rest_bytes: int
    max_rest_values: int = MAX_ANSWER_VALUES


class MalformedAnswerError(OpenAIError):
    """The answer is not the JSON it claims to be, or a base64 value is not base64."""


class Base64Fields:
    """Feed an answer's chunks in order; :meth:`finish` gives the answer, its fields
    replaced by their numbers. ``open_sink(number)`` is called when field ``number``
    starts; its bytes are written to the sink as they are decoded."""

    def __init__(self, name: str, open_sink: Callable[[int], Sink], limits: FieldLimits,
                 request_id: str | None = None) -> None:
        self._name = name.encode("utf-8")
        self._request_id = request_id  # named in every error
        self._open_sink = open_sink
        self._limits = limits
        self._rest = bytearray()
        self._state = _OUT
        self._escaped = False  # a backslash ended the previous chunk
        self._string_start = 0  # where the current string's content starts in _rest
        self._after_key: int | None = None  # _rest's length after a key named `name`
        self._sink: Sink | None = None
        self._pending = bytearray()  # base64 characters not yet decoded (< 4)
        self._decoded = 0
        self._padded = False  # the field's padding was decoded: it must end there
        self.fields = 0  # how many fields have started
        self.field_sizes: list[int] = []  # decoded bytes of each finished field

    def feed(self, chunk: bytes) -> None:
        """Take the next chunk of the answer."""
        at = 0
        while at < len(chunk):
            if self._state == _OUT:
                at = self._out(chunk, at)
            elif self._state == _STRING:
                at = self._string(chunk, at)
            else:
                at = self._field(chunk, at)
        if len(self._rest) > self._limits.max_rest_bytes:
            raise self._too_large(
                f"The server's answer holds more than {self._limits.max_rest_bytes} bytes "
                f"besides its {self._name.decode()} fields; it is not read further")

    def finish(self) -> Any:
        """The answer parsed, each field replaced by its number (an integer)."""
        if self._state != _OUT:
            raise self._malformed("The server's answer ended in the middle of a string")
        limits = self._limits
        AnswerBudget(limits.max_rest_bytes, limits.max_rest_values, self._request_id).check_json(
            self._rest, f"answer besides its {self._name.decode()} values")
        try:
            return json.loads(self._rest)
        except (ValueError, RecursionError):
            raise self._malformed(
                "The server's answer is not JSON; check the base URL") from None

    def _malformed(self, message: str) -> MalformedAnswerError:
        return MalformedAnswerError(message, request_id=self._request_id)

    def _too_large(self, message: str) -> AnswerTooLargeError:
        return AnswerTooLargeError(message, request_id=self._request_id)

    # -- the states --

    def _out(self, chunk: bytes, at: int) -> int:
        """Between strings: copy up to the next string, and tell a field's value."""
        quote = chunk.find(b'"', at)
        if quote < 0:
            self._rest += chunk[at:]
            return len(chunk)
        self._rest += chunk[at:quote]
        after_key, self._after_key = self._after_key, None
        if after_key is not None and _KEY_COLON.fullmatch(self._rest, after_key):
            self._start_field()
        else:
            self._rest.append(_QUOTE)
            self._string_start = len(self._rest)
            self._state = _STRING
        return quote + 1

    def _string(self, chunk: bytes, at: int) -> int:
        """Inside an ordinary string: copy it, escapes and all."""
        if self._escaped:
            self._rest.append(chunk[at])
            self._escaped = False
            return at + 1
        end = _STRING_END.search(chunk, at)
        if end is None:
            self._rest += chunk[at:]
            return len(chunk)
        stop = end.start()
        self._rest += chunk[at:stop + 1]
        if chunk[stop] == _BACKSLASH:
            self._escaped = True
            return stop + 1
        length = len(self._rest) - 1 - self._string_start
        is_key = length == len(self._name) and self._rest[self._string_start:-1] == self._name
        self._after_key = len(self._rest) if is_key else None
        self._state = _OUT
        return stop + 1

    def _field(self, chunk: bytes, at: int) -> int:
        """Inside a field's value: decode it into the sink."""
        if self._escaped:
            replacement = _BASE64_ESCAPES.get(chunk[at])
            if replacement is None:
                raise self._malformed(
                    f"A {self._name.decode()} value of the server's answer is not base64 "
                    "(an escaped character)")
            self._decode(replacement)
            self._escaped = False
            return at + 1
        end = _STRING_END.search(chunk, at)
        if end is None:
            self._decode(chunk[at:])
            return len(chunk)
        stop = end.start()
        self._decode(chunk[at:stop])
        if chunk[stop] == _BACKSLASH:
            self._escaped = True
        else:
            self._end_field()
        return stop + 1

    # -- fields --

    def _start_field(self) -> None:
        if self.fields >= self._limits.max_fields:
            raise self._malformed(
                f"The server's answer holds more than the {self._limits.max_fields} "
                f"{self._name.decode()} values asked for")
        number = self.fields
        self.fields += 1
        self._rest += str(number).encode("ascii")
        self._sink = self._open_sink(number)
        self._decoded = 0
        self._padded = False
        self._state = _FIELD

    def _decode(self, characters: bytes) -> None:
        pending = self._pending
        pending += characters
        whole = len(pending) - len(pending) % 4
        if whole:
            self._write(pending[:whole])
            del pending[:whole]

    def _end_field(self) -> None:
        if self._pending:
            raise self._malformed(
                f"A {self._name.decode()} value of the server's answer is not base64 "
                "(its length is not a multiple of 4)")
        self.field_sizes.append(self._decoded)
        self._sink = None
        self._state = _OUT

    def _write(self, quads: bytes | bytearray) -> None:
        data = None if self._padded else _base64(quads)  # nothing may follow the padding
        if data is None:
            raise self._malformed(
                f"A {self._name.decode()} value of the server's answer is not base64")
        self._padded = quads.endswith(b"=")
        self._decoded += len(data)
        if self._decoded > self._limits.max_field_bytes:
            raise self._too_large(
                f"A {self._name.decode()} value of the server's answer is larger than "
                f"{self._limits.max_field_bytes} bytes decoded; it is not read further")
        assert self._sink is not None  # set by _start_field
        self._sink.write(data)


def _base64(quads: bytes | bytearray) -> bytes | None:
    """Whole groups of four base64 characters decoded; None when they are not base64."""
    try:
        return binascii.a2b_base64(quads, strict_mode=True)
    except binascii.Error:
        return None


def decode_fields(chunks: Iterable[bytes], name: str, open_sink: Callable[[int], Sink],
                  limits: FieldLimits, request_id: str | None = None) -> tuple[Any, list[int]]:
    """Read `chunks` through :class:`Base64Fields`: the answer (fields replaced by their
    numbers) and the decoded size of each field."""
    scanner = Base64Fields(name, open_sink, limits, request_id)
    for chunk in chunks:
        scanner.feed(chunk)
    return scanner.finish(), scanner.field_sizes
