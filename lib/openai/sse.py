"""Server-sent events: bytes to lines, lines to events, events to JSON objects.

`iter_lines` splits a byte stream into lines, `SseDecoder` turns lines into events,
`read_events` adds the idle timeout between data events, and `parse_event` reads one
event's JSON (an error event raises). All pure apart from the given clock; the assembly
of a surface's events lives with its calls (``lib.openai.chat``, ``lib.openai.responses``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from lib.openai.budget import json_values
from lib.openai.errors import (
    NO_SECRETS,
    AnswerTooLargeError,
    APITimeoutError,
    StreamError,
    error_from_event,
    shown,
)
from lib.openai.limits import MAX_ANSWER_VALUES, MAX_SSE_LINE_BYTES, MAX_STREAM_EVENTS
from lib.redaction import Redactor

DONE = "[DONE]"
ERROR_EVENT = "error"


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One dispatched event: its `event` name (None for the default) and `data` text."""

    event: str | None
    data: str


class SseDecoder:
    """Feeds SSE lines one at a time; returns an event when a blank line dispatches one."""

    def __init__(self) -> None:
        self._event: str | None = None
        self._data: list[str] = []
        self.pending_chars = 0  # the data of the event not yet dispatched

    def feed(self, line: str) -> ServerSentEvent | None:
        """Process one line (without its line ending)."""
        if not line:
            return self.flush()
        if line.startswith(":"):
            return None  # a comment, e.g. a keep-alive
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "data":
            self._data.append(value)
            self.pending_chars += len(value) + 1
        elif field == "event":
            self._event = value
        return None

    def flush(self) -> ServerSentEvent | None:
        """Dispatch the pending event, if any (also used at the end of the stream)."""
        if not self._data:
            self._event = None
            return None
        event = ServerSentEvent(self._event, "\n".join(self._data))
        self._event, self._data, self.pending_chars = None, [], 0
        return event


def iter_lines(chunks: Iterable[bytes], max_line_bytes: int = MAX_SSE_LINE_BYTES) -> Iterator[str]:
    """Lines of a byte stream, split on LF, CRLF tolerated; a line may span chunks.

    Linear in the stream's size (each byte is searched and copied once); a line longer
    than `max_line_bytes` is a `StreamError` before more of it is buffered.
    """
    pending = bytearray()
    for chunk in chunks:
        start = 0
        while (end := chunk.find(b"\n", start)) >= 0:
            if pending:
                pending += chunk[start:end]
                line = bytes(pending)
                pending.clear()
            else:
                line = chunk[start:end]
            yield _utf8_line(_checked_length(line, max_line_bytes))
            start = end + 1
        pending += memoryview(chunk)[start:]
        _checked_length(pending, max_line_bytes)
    if pending:
        yield _utf8_line(bytes(pending))


def _checked_length(line: bytes | bytearray, max_line_bytes: int) -> bytes | bytearray:
    if len(line) > max_line_bytes:
        raise StreamError(
            f"The stream sent a line longer than {max_line_bytes} bytes; the answer is refused")
    return line


def _utf8_line(line: bytes | bytearray) -> str:
    try:
        return line.removesuffix(b"\r").decode("utf-8")
    except UnicodeDecodeError:
        raise StreamError("The stream sent bytes that are not UTF-8 text") from None


def read_events(
    chunks: Iterable[bytes],
    *,
    idle_timeout_s: float,
    monotonic: Callable[[], float],
    max_line_bytes: int = MAX_SSE_LINE_BYTES,
    max_events: int = MAX_STREAM_EVENTS,
    max_event_values: int = MAX_ANSWER_VALUES,
) -> Iterator[ServerSentEvent]:
    """Events of a byte stream; raises `APITimeoutError` when data stops for too long.

    Comments (keep-alives) do not count as data: a stream that only pings times out too.
    A silent socket is caught by the read timeout the caller set on the connection. More
    than `max_events` events, or an event whose data holds more than `max_event_values`
    JSON values (lib.openai.budget: counted before it is parsed), is an
    `AnswerTooLargeError`.
    """
    decoder = SseDecoder()
    last_data_at = monotonic()
    events = 0
    for line in iter_lines(chunks, max_line_bytes):
        now = monotonic()
        if now - last_data_at > idle_timeout_s:
            raise APITimeoutError(
                f"The stream sent no data for more than {idle_timeout_s:g} s (the idle timeout "
                "between chunks, set by the step's Request timeout)")
        event = decoder.feed(line)
        if event is not None:
            last_data_at = now
            events += 1
            yield _bounded(event, events, max_events, max_event_values)
        elif decoder.pending_chars > max_line_bytes:  # many lines, each under the cap
            raise StreamError(f"The stream sent an event longer than {max_line_bytes} "
                              "characters; the answer is refused")
    event = decoder.flush()
    if event is not None:
        yield _bounded(event, events + 1, max_events, max_event_values)


def _bounded(event: ServerSentEvent, number: int, max_events: int,
             max_values: int) -> ServerSentEvent:
    if number > max_events:
        raise AnswerTooLargeError(f"The stream sent more than {max_events} events; it is "
                                  "not read further")
    if json_values(event.data) > max_values:
        raise AnswerTooLargeError(f"The stream sent an event of more than {max_values} JSON "
                                  "values (each takes memory once parsed); it is not read "
                                  "further")
    return event


def parse_event(
    event: ServerSentEvent, request_id: str | None, redactor: Redactor = NO_SECRETS
) -> dict[str, Any] | None:
    """The chunk an event carries; None for `[DONE]`; raises `StreamError` on error events."""
    if event.data == DONE:
        return None
    try:
        data = json.loads(event.data)
    except (ValueError, RecursionError):
        raise StreamError(
            "The stream sent data that is not JSON: "
            f"{redactor.text(shown(event.data, 80, join_lines=True) or '', 80)!r}",
            request_id=request_id,
        ) from None
    if event.event == ERROR_EVENT or (isinstance(data, dict) and "error" in data):
        raise error_from_event(data, request_id, redactor)
    if not isinstance(data, dict):
        raise StreamError("The stream sent a chunk that is not an object", request_id=request_id)
    return data
