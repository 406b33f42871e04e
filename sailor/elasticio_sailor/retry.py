"""The one retry loop of the sailor's calls (platform API, result POST, object storage, AMQP
connects): a number of attempts, a wait between two, and the caller's word on what is worth
another attempt. The waiting is injected, so tests never sleep.

An attempt fails by raising an error ``retryable`` accepts (the last one is re-raised; any other
error is raised at once) or by returning a result ``retry_result`` accepts (after the last
attempt that result is returned as it is). By default neither is retried.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

Delay = float | Callable[[int], float]
"""Seconds between two attempts, or a function of the retry number (0 before the second
attempt, 1 before the third...)."""


def _never(_result: object) -> bool:
    return False


def _wait_s(delay_s: Delay, retry: int) -> float:
    return delay_s(retry) if callable(delay_s) else delay_s


async def retry_async(
    call: Callable[[], Awaitable[T]],
    *,
    attempts: int,
    delay_s: Delay,
    retryable: Callable[[Exception], bool] = _never,
    retry_result: Callable[[T], bool] = _never,
    on_failure: Callable[[int, Exception], None] | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """``await call()`` up to ``attempts`` times (at least once), ``await sleep(s)`` between two.
    ``on_failure(attempt, error)`` sees every retryable error, the last one included (attempts
    count from 1)."""
    total = max(1, attempts)
    for attempt in range(1, total + 1):
        if attempt > 1:
            await sleep(_wait_s(delay_s, attempt - 2))
        try:
            result = await call()
        except Exception as exc:
            if not retryable(exc):
                raise
            if on_failure is not None:
                on_failure(attempt, exc)
            if attempt == total:
                raise
            continue
        if attempt == total or not retry_result(result):
            return result
    raise AssertionError("unreachable")  # pragma: no cover


def retry_call(
    call: Callable[[], T],
    *,
    attempts: int,
    delay_s: Delay,
    retryable: Callable[[Exception], bool] = _never,
    retry_result: Callable[[T], bool] = _never,
    on_failure: Callable[[int, Exception], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """:func:`retry_async` for plain functions, in any thread: the same loop, driven without an
    event loop (each of its awaits is a plain call here, so it never suspends)."""

    async def attempt() -> T:
        return call()

    async def wait(seconds: float) -> None:
        sleep(seconds)

    coroutine = retry_async(attempt, attempts=attempts, delay_s=delay_s, retryable=retryable,
                            retry_result=retry_result, on_failure=on_failure, sleep=wait)
    try:
        coroutine.send(None)
    except StopIteration as finished:
        result: T = finished.value
        return result
    coroutine.close()  # pragma: no cover
    raise AssertionError("the retry loop waited for an event loop")  # pragma: no cover
