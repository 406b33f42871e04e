"""Publish throttles (docs/protocol.md#throttles): at most ``limit`` starts per fixed window of
``interval`` seconds, the overflow delayed to later windows, like Node's ``p-throttle``.

``await throttle.wait()`` is O(1) and never busy-waits: it computes the start time of
the caller's slot and sleeps once until then. While the current window has room it
returns without sleeping (two comparisons and one clock read).
"""

from __future__ import annotations

import asyncio
import time

from .settings import TaskSettings


class Throttle:
    """One throttle per message kind (data, error, snapshot); used on the event loop only."""

    __slots__ = ("_count", "_interval", "_limit", "_window_start")

    def __init__(self, limit: int, interval_s: float) -> None:
        self._limit = max(1, limit)
        self._interval = max(0.0, interval_s)
        self._window_start = float("-inf")
        self._count = 0

    def reserve(self, now: float | None = None) -> float:
        """Take the next free slot; return how many seconds to wait before using it."""
        if now is None:
            now = time.monotonic()
        if now - self._window_start > self._interval:
            self._window_start = now
            self._count = 1
            return 0.0
        if self._count < self._limit:
            self._count += 1
        else:
            # The window is full: the slot is the first of the next window (which may
            # itself lie in the future when many callers are already queued).
            self._window_start += self._interval
            self._count = 1
        return max(0.0, self._window_start - now)

    async def wait(self) -> None:
        delay = self.reserve()
        if delay > 0:
            await asyncio.sleep(delay)


class Throttles:
    """The three throttles of a task-mode sailor, built from the settings."""

    __slots__ = ("data", "error", "snapshot")

    def __init__(self, data_limit: int, error_limit: int, snapshot_limit: int,
                 interval_ms: int) -> None:
        interval_s = interval_ms / 1000
        self.data = Throttle(data_limit, interval_s)
        self.error = Throttle(error_limit, interval_s)
        self.snapshot = Throttle(snapshot_limit, interval_s)

    @classmethod
    def from_settings(cls, settings: TaskSettings) -> Throttles:
        return cls(settings.data_rate_limit, settings.error_rate_limit,
                   settings.snapshot_rate_limit, settings.rate_interval_ms)
