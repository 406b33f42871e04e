"""Worker threads for sync ``process`` functions, with a cheap hop to and from the loop.

``loop.run_in_executor`` costs, per call, a ``concurrent.futures.Future``, a work item,
a chained asyncio future with two callbacks, and one self-pipe write (plus the loop's
read of it) for every result. Profiled at prefetch 10 that was ~8 % of the event loop's
time for a no-op component. Here a call is one asyncio future and one tuple in a
``SimpleQueue``; finished calls are handed back in batches: a worker wakes the loop only
when no wake-up is pending already, so results that finish close together share one.

Same contract as the thread pool it replaces: at most ``max_workers`` threads, started
on demand, named ``<prefix>_<n>``; a call still queued when its awaiting task is
cancelled is skipped; ``shutdown()`` cancels the queued calls, lets the running ones
finish and does not wait for them; at interpreter exit the threads are told to stop
(running calls finish first), as ``ThreadPoolExecutor`` does.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import queue
import threading
import weakref
from collections.abc import Callable
from typing import Any

_STOP = None
_all_pools: weakref.WeakSet[WorkerPool] = weakref.WeakSet()
_exiting = False


def _at_exit() -> None:
    global _exiting  # noqa: PLW0603 - process-wide, like concurrent.futures.thread
    _exiting = True
    for pool in list(_all_pools):
        pool._stop_threads()  # noqa: SLF001


threading._register_atexit(_at_exit)  # noqa: SLF001 - what concurrent.futures.thread uses


class WorkerPool:
    def __init__(self, max_workers: int, thread_name_prefix: str = "worker") -> None:
        self._max_workers = max(1, max_workers)
        self._prefix = thread_name_prefix
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._busy = 0  # calls submitted and not yet handed back (loop thread only)
        self._lock = threading.Lock()
        self._finished: collections.deque = collections.deque()
        self._wake_pending = False
        self._closed = False
        _all_pools.add(self)

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Call ``fn(*args)`` in a worker thread; the result (or exception) comes back here."""
        if self._closed:
            raise RuntimeError("cannot schedule new calls after shutdown")
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        if self._busy >= len(self._threads) and len(self._threads) < self._max_workers:
            self._start_thread()
        self._busy += 1
        self._jobs.put((loop, future, fn, args))
        try:
            return await future
        finally:
            if not future.done():  # cancelled while queued or running: not handed back
                future.cancel()

    def _start_thread(self) -> None:
        thread = threading.Thread(target=self._work, name=f"{self._prefix}_{len(self._threads)}")
        thread.start()
        self._threads.append(thread)

    def _work(self) -> None:
        jobs = self._jobs
        while True:
            job = jobs.get()
            if job is _STOP:
                return
            loop, future, fn, args = job
            if future.cancelled():  # a plain read; a cancel racing with it only costs a run
                self._hand_back(loop, future, None, None)
                continue
            try:
                result, error = fn(*args), None
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task
                result, error = None, exc
            self._hand_back(loop, future, result, error)
            del job, future, fn, args, result, error

    def _hand_back(self, loop: asyncio.AbstractEventLoop, future: asyncio.Future,
                   result: Any, error: BaseException | None) -> None:
        with self._lock:
            self._finished.append((future, result, error))
            if self._wake_pending:
                return
            self._wake_pending = True
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits for these
            loop.call_soon_threadsafe(self._deliver)

    def _deliver(self) -> None:
        """On the loop: resolve every finished call with one wake-up."""
        with self._lock:
            finished = list(self._finished)
            self._finished.clear()
            self._wake_pending = False
        self._busy -= len(finished)
        for future, result, error in finished:
            if future.done():
                continue
            if error is None:
                future.set_result(result)
            else:
                future.set_exception(error)

    def shutdown(self) -> None:
        """Cancel the queued calls; running ones finish, nobody waits for them here."""
        self._closed = True
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is not _STOP:
                job[1].get_loop().call_soon_threadsafe(job[1].cancel)
        self._stop_threads()

    def _stop_threads(self) -> None:
        for _ in self._threads:
            self._jobs.put(_STOP)
