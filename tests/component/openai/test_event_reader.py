"""The push reader of server-sent events: the same events however the stream is cut into
pieces, and every bound, whether an event arrives whole or byte by byte."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator

import pytest

from lib.openai.errors import AnswerTooLargeError, APITimeoutError, StreamError
from lib.openai.sse import EventReader, ServerSentEvent, parse_event

STREAMS = {
    "one data line per event": b'data: {"a":1}\n\ndata: {"b":2}\n\ndata: [DONE]\n\n',
    "several events in a row": b"data: 1\n\ndata: 2\n\ndata: 3\n\n" * 3,
    "crlf": b"data: a\r\n\r\ndata: b\r\n\r\n",
    "mixed line endings": b"data: a\r\n\ndata: b\n\r\n: c\r\ndata: d\n\n",
    "named events of several lines": (b"event: response.created\ndata: 1\ndata: 2\nid: 7\n"
                                      b"retry: 5\n\ndata: 3\n\n"),
    "comments and keep-alives": b": ping\n\n: ping\ndata: x\n\n:\n\n",
    "blank lines between events": b"\n\n\ndata: a\n\n\n\n\ndata: b\n\n\ndata: c\n\n",
    "data without a space, empty data": b"data:a\n\ndata:\n\ndata\n\ndata: \n\n",
    "an event name without data": b"event: e\n\ndata: a\n\n",
    "multibyte text": "data: é ü 漢 🙂\n\ndata: ü\n\n".encode(),
    "a CR inside a line": b"data: a\rb\n\ndata: c\n\n",
    "no blank line at the end": b"data: a\n\ndata: tail",
    "a whole line at the end": b"data: a\n\nevent: e\ndata: b\n",
    "unknown fields": b"foo: bar\ndata: a\nfoo\n\ndata: b\n\n",
}


def reference(stream: bytes) -> list[ServerSentEvent]:
    """The SSE rules, applied to the whole stream at once, line by line."""
    events: list[ServerSentEvent] = []
    name: str | None = None
    data: list[str] = []
    lines = stream.split(b"\n")
    if not lines[-1]:
        lines.pop()
    for raw in [*lines, b""]:  # the end of the stream dispatches too
        line = raw.removesuffix(b"\r").decode()
        if not line:
            if data:
                events.append(ServerSentEvent(name, "\n".join(data)))
            name, data = None, []
        elif not line.startswith(":"):
            field, _, value = line.partition(":")
            if field == "data":
                data.append(value.removeprefix(" "))
            elif field == "event":
                name = value.removeprefix(" ")
    return events


def reader(**bounds: int) -> EventReader:
    return EventReader(idle_timeout_s=60, monotonic=lambda: 0.0, **bounds)


def read(pieces: list[bytes], **bounds: int) -> list[ServerSentEvent]:
    events_reader = reader(**bounds)
    events = [event for piece in pieces for event in events_reader.feed(piece)]
    return events + events_reader.end()


def cuts(stream: bytes) -> Iterator[list[bytes]]:
    """The stream whole, in two pieces at every place, byte by byte, and at random."""
    yield [stream]
    for at in range(1, len(stream)):
        yield [stream[:at], stream[at:]]
    yield [stream[at:at + 1] for at in range(len(stream))]
    rng = random.Random(len(stream))
    for _ in range(20):
        places = sorted(rng.sample(range(1, len(stream)), min(5, len(stream) - 1)))
        yield [stream[a:b] for a, b in zip([0, *places], [*places, len(stream)], strict=True)]


@pytest.mark.parametrize("stream", STREAMS.values(), ids=STREAMS.keys())
def test_every_cut_of_a_stream_gives_the_same_events(stream: bytes) -> None:
    expected = reference(stream)
    assert expected  # every stream has events
    for pieces in cuts(stream):
        assert read(pieces) == expected, pieces


def test_a_whole_event_in_a_piece_is_returned_by_that_piece() -> None:
    events_reader = reader()
    assert events_reader.feed(b'data: {"a":1}\n\ndata: {"b"') == [
        ServerSentEvent(None, '{"a":1}')]
    assert events_reader.feed(b":2}\n") == []
    assert events_reader.feed(b"\n") == [ServerSentEvent(None, '{"b":2}')]
    assert events_reader.end() == []


def both_ways(stream: bytes) -> list[list[bytes]]:
    return [[stream], [stream[at:at + 1] for at in range(len(stream))]]


@pytest.mark.parametrize("line", [b"data: " + b"x" * 10, b": " + b"x" * 14,
                                  b"data:" + b"x" * 10 + b"\r", b"event: " + b"e" * 9])
def test_a_line_of_the_cap_passes_and_one_byte_more_is_refused(line: bytes) -> None:
    assert len(line) == 16
    for pieces in both_ways(line + b"\n\ndata: ok\n\n"):
        assert read(pieces, max_line_bytes=16)[-1] == ServerSentEvent(None, "ok")
    for pieces in both_ways(b"data: a\n\n" + line + b"y\n\n"):
        with pytest.raises(StreamError, match="line longer than 16 bytes"):
            read(pieces, max_line_bytes=16)


def test_a_line_without_end_is_refused_once_it_passes_the_cap() -> None:
    events_reader = reader(max_line_bytes=16)
    events_reader.feed(b"data: a\n\n: " + b"x" * 14)
    with pytest.raises(StreamError, match="line longer than 16 bytes"):
        events_reader.feed(b"x")


def test_an_event_of_many_short_lines_is_refused_at_the_cap() -> None:
    stream = b"data: abc\n" * 4 + b"\n"  # 4 characters per line, with its LF
    for pieces in both_ways(stream):
        assert read(pieces, max_line_bytes=16) == [ServerSentEvent(None, "abc\n" * 3 + "abc")]
    for pieces in both_ways(b"data: abc\n" * 5 + b"\n"):
        with pytest.raises(StreamError, match="event longer than 16 characters"):
            read(pieces, max_line_bytes=16)


def test_comments_beyond_the_cap_between_events_are_skipped() -> None:
    """They are no event's data: what is pending is read, not refused."""
    stream = b": ping\n" * 100 + b"event: e\n" + b": ping\n" * 100 + b"data: a\n\n"
    for pieces in both_ways(stream):
        assert read(pieces, max_line_bytes=16) == [ServerSentEvent("e", "a")]


def test_the_events_before_a_failure_are_returned_first() -> None:
    events_reader = reader(max_events=3)
    assert len(events_reader.feed(b"data: 1\n\n" * 5)) == 3
    with pytest.raises(AnswerTooLargeError, match="more than 3 events"):
        events_reader.feed(b"data: 6\n\n")
    with pytest.raises(AnswerTooLargeError, match="more than 3 events"):
        events_reader.end()


def test_events_of_too_many_json_values_are_refused() -> None:
    assert read([b'data: {"a":1}\n\n'], max_event_values=2) == [ServerSentEvent(None, '{"a":1}')]
    for stream in (b'data: {"a":[1]}\n\n', b'data: {"a"\ndata: :[1]}\n\n'):
        with pytest.raises(AnswerTooLargeError, match="more than 2 JSON values"):
            read([stream], max_event_values=2)


@pytest.mark.parametrize("stream", [b"data: \xff\n\n", b"data: a\ndata: \xfe\n\n",
                                    b": \xff\n\ndata: a\n\n", b"data: \xc3"])
def test_bytes_that_are_not_utf8_are_refused(stream: bytes) -> None:
    for pieces in both_ways(stream):
        with pytest.raises(StreamError, match="not UTF-8"):
            read(pieces)


def test_keep_alives_alone_reach_the_idle_timeout() -> None:
    now = [0.0]
    events_reader = EventReader(idle_timeout_s=25, monotonic=lambda: now[0])
    now[0] = 20
    assert events_reader.feed(b": ping\n\ndata: 1\n\n") == [ServerSentEvent(None, "1")]
    now[0] = 45
    assert events_reader.feed(b": ping\n\n") == []  # 25 s after the data: not more
    now[0] = 45.5
    with pytest.raises(APITimeoutError, match="no data for more than 25 s"):
        events_reader.feed(b"data: 2\n\n")


def test_json_with_white_space_around_it_is_read() -> None:
    assert parse_event(ServerSentEvent(None, ' {"a": 1} \n'), None) == {"a": 1}
    for text in ('{"a": 1} x', "{", ""):
        with pytest.raises(StreamError, match="not JSON"):
            parse_event(ServerSentEvent(None, text), None)
    assert parse_event(ServerSentEvent(None, json.dumps({"b": [1, 2]})), None) == {"b": [1, 2]}
