"""One timer per answer for the idle timeout, instead of one per chunk.

aiohttp's ``sock_read`` re-arms a loop timer at every piece of data (cancel, then a new
``call_later``): at 100 streams of 100 chunks a second, that is a timer made and dropped
per chunk. An `IdleWatchdog` is armed once: each read notes when it began to wait
(`since`), and the timer, when it fires, ends a wait that has lasted `idle_s` or re-arms
itself for the moment the current wait would reach it — so it wakes about once per
`idle_s` of a flowing stream, whatever the number of chunks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

# a loop may run a timer up to its clock's resolution early: a wait this short of
# `idle_s` counts as having reached it (else the timer would re-arm for a few µs)
EARLY_S = 0.001


class Timer(Protocol):
    def cancel(self) -> None: ...


class TimerLoop(Protocol):
    """What the watchdog uses of an event loop."""

    def time(self) -> float: ...

    def call_at(self, when: float, callback: Callable[[], object],
                /) -> Timer: ...


class IdleWatchdog:
    """Calls `on_idle` once a read has waited `idle_s` for data. A reader sets `since` to
    `loop.time()` when it starts to wait and to None when data came."""

    __slots__ = ("_handle", "_idle_s", "_loop", "_on_idle", "since", "wakeups")

    def __init__(self, loop: TimerLoop, idle_s: float, on_idle: Callable[[], None]) -> None:
        self._loop = loop
        self._idle_s = idle_s
        self._on_idle = on_idle
        self.since: float | None = None
        self.wakeups = 0  # how often the timer fired (tests count them)
        self._handle: Timer | None = loop.call_at(loop.time() + idle_s,
                                                                self._fire)

    def _fire(self) -> None:
        self.wakeups += 1
        since = self.since
        now = self._loop.time()
        if since is None:  # not waiting: a wait that starts now is looked at `idle_s` on
            self._handle = self._loop.call_at(now + self._idle_s, self._fire)
        elif now - since >= self._idle_s - EARLY_S:
            self._handle = None
            self._on_idle()
        else:
            self._handle = self._loop.call_at(since + self._idle_s, self._fire)

    def stop(self) -> None:
        """No more looks (the answer is read to its end, or closed)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
