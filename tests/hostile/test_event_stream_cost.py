"""The event reader's work is linear in the stream, however the stream is cut.

A reader that searched, or copied, what is pending again with every piece would take time
quadratic in a long line or a long event sent one byte at a time (16 KiB: 130 million bytes
touched). The work is counted, not timed: the pieces and the reader's pending buffer are
bytes types that count every byte their searches and copies touch.
"""

from __future__ import annotations

from typing import Any, SupportsIndex

import pytest

from lib.openai.errors import OpenAIError
from lib.openai.sse import EventReader

CAP = 16 * 1024
TOUCHED: list[int] = []  # bytes searched or copied, per operation


def _searched(size: int, sub: Any, start: SupportsIndex | None, end: SupportsIndex | None,
              found: int) -> int:
    """The bytes a search looked at: up to the end of what it found, or its whole range."""
    begin = 0 if start is None else int(start)
    stop = size if end is None else min(int(end), size)
    if found >= 0:
        stop = found + len(sub)
    return max(stop - begin, 0)


class CountingBytes(bytes):
    """A piece of the stream."""

    def find(self, sub: Any, start: SupportsIndex | None = None,  # type: ignore[override]
             end: SupportsIndex | None = None) -> int:
        found = bytes.find(self, sub, start, end)
        TOUCHED.append(_searched(len(self), sub, start, end, found))
        return found

    def __contains__(self, sub: Any) -> bool:  # type: ignore[override]
        TOUCHED.append(len(self))
        return bytes.__contains__(self, sub)

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        value = bytes.__getitem__(self, key)
        TOUCHED.append(len(value) if isinstance(value, bytes) else 1)
        return value


class CountingBuffer(bytearray):
    """The reader's pending bytes."""

    def find(self, sub: Any, start: SupportsIndex | None = None,  # type: ignore[override]
             end: SupportsIndex | None = None) -> int:
        found = bytearray.find(self, sub, start, end)
        TOUCHED.append(_searched(len(self), sub, start, end, found))
        return found

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        value = bytearray.__getitem__(self, key)
        TOUCHED.append(len(value) if isinstance(value, bytearray) else 1)
        return value

    def __iadd__(self, other: Any) -> CountingBuffer:  # type: ignore[override]
        TOUCHED.append(len(other))
        bytearray.__iadd__(self, other)
        return self

    def __delitem__(self, key: Any) -> None:
        before = len(self)
        bytearray.__delitem__(self, key)
        TOUCHED.append(len(self) if before != len(self) else 0)  # the bytes moved down


SHAPES = {
    "a line without end": b"x",
    "blank lines": b"\n",
    "CRs": b"\r",
    "CRLF blank lines": b"\r\n",
    "comment lines, no event": b":\n",
    "an event of one-byte data lines": b"data:\n",
    "an event name again and again": b"event: e\n",
    "events": b"data: x\n\n",
    "events with CRLF": b"data: x\r\n\r\n",
    "a data line without end": b"data: " + b"x" * 57,
}


@pytest.mark.parametrize("piece_size", [1, 7])
@pytest.mark.parametrize("unit", SHAPES.values(), ids=SHAPES.keys())
def test_the_work_per_byte_is_bounded(unit: bytes, piece_size: int) -> None:
    stream = unit * (2 * CAP // len(unit))
    reader = EventReader(idle_timeout_s=60, monotonic=lambda: 0.0, max_line_bytes=CAP)
    reader._pending = CountingBuffer()  # its searches and copies counted
    TOUCHED.clear()
    fed = 0
    try:
        for at in range(0, len(stream), piece_size):
            piece = CountingBytes(stream[at:at + piece_size])
            fed += len(piece)
            reader.feed(piece)
        reader.end()
    except OpenAIError:
        pass  # a line or an event over the cap: refused where it passed it
    assert fed >= CAP
    assert sum(TOUCHED) <= 12 * fed, f"{sum(TOUCHED)} bytes touched for {fed} fed"
