"""Waiting on the loop for the step's stop signal (lib.openai.stopping)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from lib.openai import stopping
from lib.openai.stopping import sleep_unless_stopped, watcher_count

LONG_S = 60.0  # a wait no test may sit through: only the stop signal ends it


@pytest.fixture(autouse=True)
def quick_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stopping, "STOP_CHECK_S", 0.001)


def test_without_a_signal_it_sleeps_and_says_not_stopped() -> None:
    assert asyncio.run(sleep_unless_stopped(0, None)) is False


def test_a_signal_already_set_ends_the_wait_at_once_without_a_watcher() -> None:
    stop = threading.Event()
    stop.set()

    async def main() -> tuple[bool, int]:
        return await sleep_unless_stopped(LONG_S, stop), watcher_count()

    assert asyncio.run(main()) == (True, 0)


def test_a_wait_that_runs_out_says_not_stopped_and_leaves_no_watcher() -> None:
    stop = threading.Event()

    async def main() -> tuple[bool, int]:
        stopped = await sleep_unless_stopped(0.005, stop)
        await asyncio.sleep(0.01)  # the watcher sees nobody waits any more
        return stopped, watcher_count()

    assert asyncio.run(main()) == (False, 0)


def test_a_signal_set_by_another_thread_wakes_every_waiter_through_one_watcher() -> None:
    stop = threading.Event()

    async def main() -> tuple[list[bool], list[int]]:
        waits = [asyncio.create_task(sleep_unless_stopped(LONG_S, stop)) for _ in range(200)]
        await asyncio.sleep(0)  # every waiter registered
        counts = [watcher_count()]
        threading.Thread(target=stop.set).start()
        results = await asyncio.wait_for(asyncio.gather(*waits), 30)
        await asyncio.sleep(0)
        counts.append(watcher_count())
        return results, counts

    results, counts = asyncio.run(main())
    assert results == [True] * 200
    assert counts == [1, 0]


def test_two_signals_on_one_loop_are_watched_apart() -> None:
    first, second = threading.Event(), threading.Event()

    async def main() -> tuple[bool, bool]:
        waits = [asyncio.create_task(sleep_unless_stopped(0.05, first)),
                 asyncio.create_task(sleep_unless_stopped(LONG_S, second))]
        await asyncio.sleep(0)
        assert watcher_count() == 2
        second.set()
        first_stopped, second_stopped = await asyncio.wait_for(asyncio.gather(*waits), 30)
        return first_stopped, second_stopped

    assert asyncio.run(main()) == (False, True)
