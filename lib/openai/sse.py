"""Server-sent events: bytes to events, events to JSON objects.

`EventReader` is pushed the bytes of a stream as they arrive (`feed`, then `end`) and
returns the events each piece completes, within the bounds (line, event, events, JSON
values, and the idle timeout between data events, given a clock): the async client feeds
it what each read of the body gives. `parse_event` reads one event's JSON (an error event
raises). All pure apart from the given clock; the assembly of a surface's events lives
with its calls (``lib.openai.chat``, ``lib.openai.responses``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lib.openai.budget import json_values
from lib.openai.errors import (
    NO_SECRETS,
    AnswerTooLargeError,
    APITimeoutError,
    OpenAIError,
    StreamError,
    error_from_event,
    shown,
)
from lib.openai.limits import MAX_ANSWER_VALUES, MAX_SSE_LINE_BYTES, MAX_STREAM_EVENTS
from lib.redaction import Redactor

DONE = "[DONE]"
ERROR_EVENT = "error"
_DATA_LINE = b"data: "  # how nearly every event starts: one data line
_DATA_LINE_LENGTH = len(_DATA_LINE)
_JSON = json.JSONDecoder()  # its raw_decode: the parser without json.loads' layers


@dataclass(slots=True)  # not frozen: a frozen dataclass is made twice as slowly
class ServerSentEvent:
    """One dispatched event: its `event` name (None for the default) and `data` text."""

    event: str | None
    data: str


class EventReader:
    """The events of a stream of bytes, pushed piece by piece as they arrive (`feed`),
    then `end` when the stream has ended.

    Lines end with LF (a CR before it is dropped); a blank line dispatches the event that
    its `data` lines make (joined with LF), named by its last `event` line; comments (`:`,
    keep-alives) and other fields are skipped. Bounds: a line longer than
    `max_line_bytes` bytes, or an event whose data is longer than that many characters,
    is a `StreamError`; more than `max_events` events, or an event of more than
    `max_event_values` JSON values (``lib.openai.budget``: counted before it is parsed),
    an `AnswerTooLargeError`; no data event for more than `idle_timeout_s` by `monotonic`,
    read once per piece fed, an `APITimeoutError` (a stream that only sends keep-alives
    times out too; a silent socket is the reader's timeout). The events a piece completed
    before such a failure are returned, and the failure raised by the next call.

    Cheap in the common case: an event that a piece holds whole (`data: ...` and a blank
    line, no CR) is cut out of it with a few calls at C speed; anything else is read line
    by line. Linear in the stream, however it is cut: the bytes already searched are not
    searched again, and what is pending (never more than `max_line_bytes` and one piece)
    is copied once.
    """

    def __init__(self, *, idle_timeout_s: float, monotonic: Callable[[], float],
                 max_line_bytes: int = MAX_SSE_LINE_BYTES,
                 max_events: int = MAX_STREAM_EVENTS,
                 max_event_values: int = MAX_ANSWER_VALUES) -> None:
        self._idle_timeout_s = idle_timeout_s
        self._monotonic = monotonic
        self._max_line_bytes = max_line_bytes
        self._max_events = max_events
        self._max_event_values = max_event_values
        self._last_data_at = monotonic()
        self._count = 0  # events dispatched
        self._failure: OpenAIError | None = None  # raised by the next call
        # The bytes not read yet. Between events (no `data` or `event` line pending, no
        # CR seen in them): the start of the next event, with no blank line before its
        # last byte. Within an event, or after a CR: the start of a line, with no LF.
        self._pending = bytearray()
        self._cr = False
        # The event being read line by line.
        self._event: str | None = None
        self._data: list[str] = []
        self._data_chars = 0

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """The events that `chunk`, the next piece of the stream, completes."""
        if self._failure is not None:
            raise self._failure
        now = self._monotonic()
        if now - self._last_data_at > self._idle_timeout_s:
            raise APITimeoutError(
                f"The stream sent no data for more than {self._idle_timeout_s:g} s (the "
                "idle timeout between chunks, set by the step's Request timeout)")
        events: list[ServerSentEvent] = []
        try:
            self._read(chunk, events)
        except OpenAIError as failure:
            self._fail(failure, events)
        if events:
            self._last_data_at = now
        return events

    def end(self) -> list[ServerSentEvent]:
        """The events the end of the stream completes (its last line needs no LF)."""
        if self._failure is not None:
            raise self._failure
        events: list[ServerSentEvent] = []
        try:
            if self._pending:
                self._pending += b"\n"
                self._lines(self._pending, 0, 0, events, to_blank_line=False)
                self._pending.clear()
            self._dispatch_pending(events)
        except OpenAIError as failure:
            self._fail(failure, events)
        return events

    def _fail(self, failure: OpenAIError, events: list[ServerSentEvent]) -> None:
        if not events:
            raise failure
        self._failure = failure

    def _read(self, chunk: bytes, events: list[ServerSentEvent]) -> None:
        pending = self._pending
        buf: bytes | bytearray = chunk
        search = 0  # where the next boundary may start (no need to look before it)
        if pending:
            search = len(pending) - 1 if self._between_events() else len(pending)
            pending += chunk
            buf = pending
        if not self._cr and b"\r" in chunk:
            self._cr = True
            search = 0  # the lines of what is pending have not been looked for
        start, size = 0, len(buf)
        while start < size:
            if self._cr or self._data or self._event is not None:  # not between events
                start = search = self._lines(buf, start, search, events,
                                             to_blank_line=not self._cr)
                if not self._between_events():
                    break  # the rest is part of a line
            end = buf.find(b"\n\n", search)
            if end < 0:
                break
            if buf.startswith(_DATA_LINE, start, end) and buf.find(b"\n", start, end) < 0:
                if end - start > self._max_line_bytes:
                    raise self._line_too_long()
                try:
                    data = buf[start + _DATA_LINE_LENGTH:end].decode()
                except UnicodeDecodeError:
                    raise _not_utf8() from None
                self._dispatch(None, data, events)
                start = search = end + 2
            else:  # other fields, comments, more lines, a leading blank line
                start = search = self._lines(buf, start, start, events, to_blank_line=True)
        if start < size or buf is pending:
            self._keep_rest(buf, start, events)
        else:  # the piece ended with an event: nothing is pending
            self._cr = False

    def _keep_rest(self, buf: bytes | bytearray, start: int,
                   events: list[ServerSentEvent]) -> None:
        """Keeps what `buf` holds from `start` on for the next piece, within the line cap:
        between events, its whole lines are read (they are no event's data: comments,
        other fields), and the line left must fit."""
        pending = self._pending
        if buf is pending:
            del pending[:start]
        elif start < len(buf):
            pending += memoryview(buf)[start:]
        if not pending:
            self._cr = False
            return
        if len(pending) > self._max_line_bytes:
            if self._between_events():
                del pending[:self._lines(pending, 0, 0, events, to_blank_line=False)]
            if len(pending) > self._max_line_bytes:
                raise self._line_too_long()

    def _between_events(self) -> bool:
        return not (self._cr or self._data or self._event is not None)

    def _lines(self, buf: bytes | bytearray, start: int, search: int,
               events: list[ServerSentEvent], *, to_blank_line: bool) -> int:
        """Reads the whole lines of `buf` from `start` (up to the first blank line, if
        `to_blank_line`); returns where the rest starts. `search`: no LF before it."""
        while (end := buf.find(b"\n", search)) >= 0:
            if end - start > self._max_line_bytes:
                raise self._line_too_long()
            line = buf[start:end]
            start = search = end + 1
            if self._line(_utf8(line.removesuffix(b"\r")), events) and to_blank_line:
                break
        return start

    def _line(self, line: str, events: list[ServerSentEvent]) -> bool:
        """Reads one line (without its line ending); True when it is blank."""
        if not line:
            self._dispatch_pending(events)
            return True
        if line.startswith(":"):
            return False  # a comment, e.g. a keep-alive
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "data":
            self._data.append(value)
            self._data_chars += len(value) + 1
            if self._data_chars > self._max_line_bytes:  # many lines, each under the cap
                raise StreamError(f"The stream sent an event longer than "
                                  f"{self._max_line_bytes} characters; the answer is refused")
        elif field == "event":
            self._event = value
        return False

    def _dispatch_pending(self, events: list[ServerSentEvent]) -> None:
        """Dispatches the event read line by line, if it has data."""
        if self._data:
            self._dispatch(self._event, "\n".join(self._data), events)
        self._event, self._data, self._data_chars = None, [], 0

    def _dispatch(self, name: str | None, data: str, events: list[ServerSentEvent]) -> None:
        self._count += 1
        if self._count > self._max_events:
            raise AnswerTooLargeError(f"The stream sent more than {self._max_events} events; "
                                      "it is not read further")
        # json_values(data) <= len(data): a short event needs no counting
        if len(data) > self._max_event_values and json_values(data) > self._max_event_values:
            raise AnswerTooLargeError(
                f"The stream sent an event of more than {self._max_event_values} JSON values "
                "(each takes memory once parsed); it is not read further")
        events.append(ServerSentEvent(name, data))

    def _line_too_long(self) -> StreamError:
        return StreamError(f"The stream sent a line longer than {self._max_line_bytes} bytes; "
                           "the answer is refused")


def _utf8(text: bytes | bytearray) -> str:
    try:
        return text.decode()
    except UnicodeDecodeError:
        raise _not_utf8() from None


def _not_utf8() -> StreamError:
    return StreamError("The stream sent bytes that are not UTF-8 text")


def parse_event(
    event: ServerSentEvent, request_id: str | None, redactor: Redactor = NO_SECRETS
) -> dict[str, Any] | None:
    """The chunk an event carries; None for `[DONE]`; raises `StreamError` on error events."""
    text = event.data
    if text == DONE:
        return None
    try:
        data = _json_value(text)
    except (ValueError, RecursionError):
        raise StreamError(
            "The stream sent data that is not JSON: "
            f"{redactor.text(shown(text, 80, join_lines=True) or '', 80)!r}",
            request_id=request_id,
        ) from None
    if event.event == ERROR_EVENT or (isinstance(data, dict) and "error" in data):
        raise error_from_event(data, request_id, redactor)
    if not isinstance(data, dict):
        raise StreamError("The stream sent a chunk that is not an object", request_id=request_id)
    return data


def _json_value(text: str) -> Any:
    """`json.loads`, in one call at C speed when the text is one JSON value alone."""
    try:
        value, end = _JSON.raw_decode(text)
        if end == len(text):
            return value
    except ValueError:
        pass
    return json.loads(text)  # with white space around it; or json's reason it is not JSON
