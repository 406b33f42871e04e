"""Waiting on the event loop for the step's stop signal, which another thread sets.

The stop signal is the sailor's `self.shutting_down`, a `threading.Event` (set when the
sailor shuts down). An ``async def`` action must not block the loop on it, and must not
wake up every few milliseconds per waiter to look at it either: one watcher task per
(event loop, signal) looks at the event every `STOP_CHECK_S` while anybody waits, and
wakes every waiter once it is set. So two hundred background jobs waiting for their next
poll cost one timer, not two hundred; the shutdown is seen within `STOP_CHECK_S`.
"""

from __future__ import annotations

import asyncio
import threading
import weakref

# How often the watcher looks at the signal while somebody waits on it.
STOP_CHECK_S = 0.25


class _Watch:
    """The waiters of one signal on one loop, and the watcher task that wakes them."""

    __slots__ = ("stop", "stopped", "task", "waiters")

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.stopped = asyncio.Event()
        self.waiters = 0
        self.task: asyncio.Task[None] | None = None

    async def watch(self) -> None:
        # a threading.Event set by another thread cannot wake the loop: it is looked at
        while self.waiters > 0 and not self.stop.is_set():  # noqa: ASYNC110
            await asyncio.sleep(STOP_CHECK_S)
        if self.stop.is_set():
            self.stopped.set()
        self.task = None


_watches: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[threading.Event, _Watch]] = weakref.WeakKeyDictionary()


def _watch_of(stop: threading.Event) -> _Watch:
    loop = asyncio.get_running_loop()
    of_loop = _watches.setdefault(loop, {})
    watch = of_loop.get(stop)
    if watch is None:
        watch = of_loop[stop] = _Watch(stop)
    return watch


def watcher_count() -> int:
    """The watcher tasks running on the current loop (for tests and diagnostics)."""
    of_loop = _watches.get(asyncio.get_running_loop(), {})
    return sum(1 for watch in of_loop.values() if watch.task is not None)


async def sleep_unless_stopped(delay_s: float, stop: threading.Event | None) -> bool:
    """Sleep `delay_s` seconds on the loop, or less once `stop` is set: True when it is
    set (before, during or right at the end of the wait)."""
    if stop is None:
        await asyncio.sleep(max(0.0, delay_s))
        return False
    if stop.is_set():
        return True
    if delay_s > 0:
        watch = _watch_of(stop)
        watch.waiters += 1
        if watch.task is None:
            watch.task = asyncio.get_running_loop().create_task(watch.watch())
        try:
            async with asyncio.timeout(delay_s):
                await watch.stopped.wait()
        except TimeoutError:
            pass
        finally:
            watch.waiters -= 1
    return stop.is_set()
