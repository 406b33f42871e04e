"""retry.py: the sailor's one retry loop (sync and async), with the waiting injected."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from elasticio_sailor.retry import retry_async, retry_call


class FlakyError(Exception):
    """A failure worth another attempt."""


class BrokenError(Exception):
    """A failure that is not."""


def script(*outcomes: Any) -> tuple[Callable[[], Any], list[int]]:
    """A call that, on its n-th invocation, raises or returns the n-th outcome."""
    calls: list[int] = []

    def call() -> Any:
        calls.append(len(calls) + 1)
        outcome = outcomes[len(calls) - 1]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    return call, calls


def is_flaky(error: Exception) -> bool:
    return isinstance(error, FlakyError)


def run_async(call: Callable[[], Any], sleeps: list[float], **options: Any) -> Any:
    async def attempt() -> Any:
        return call()

    async def sleep(delay_s: float) -> None:
        sleeps.append(delay_s)

    return asyncio.run(retry_async(attempt, sleep=sleep, **options))


def run_sync(call: Callable[[], Any], sleeps: list[float], **options: Any) -> Any:
    return retry_call(call, sleep=sleeps.append, **options)


both = pytest.mark.parametrize("run", [run_sync, run_async], ids=["sync", "async"])


@both
def test_success_after_retryable_failures_waits_between_attempts(run):
    call, calls = script(FlakyError("1"), FlakyError("2"), "done")
    sleeps: list[float] = []
    assert run(call, sleeps, attempts=3, delay_s=0.5, retryable=is_flaky) == "done"
    assert calls == [1, 2, 3]
    assert sleeps == [0.5, 0.5]


@both
def test_the_last_error_is_raised_after_the_last_attempt(run):
    last = FlakyError("third")
    call, calls = script(FlakyError("first"), FlakyError("second"), last, "never reached")
    sleeps: list[float] = []
    with pytest.raises(FlakyError) as raised:
        run(call, sleeps, attempts=3, delay_s=1.0, retryable=is_flaky)
    assert raised.value is last
    assert calls == [1, 2, 3]
    assert sleeps == [1.0, 1.0]


@both
def test_a_non_retryable_error_is_raised_at_once(run):
    broken = BrokenError("no")
    call, calls = script(FlakyError("1"), broken, "never reached")
    sleeps: list[float] = []
    seen: list[tuple[int, Exception]] = []
    with pytest.raises(BrokenError) as raised:
        run(call, sleeps, attempts=5, delay_s=1.0, retryable=is_flaky,
            on_failure=lambda attempt, error: seen.append((attempt, error)))
    assert raised.value is broken
    assert calls == [1, 2]
    assert sleeps == [1.0]
    assert [attempt for attempt, _ in seen] == [1]


@both
def test_errors_are_not_retried_by_default(run):
    call, calls = script(FlakyError("1"), "never reached")
    with pytest.raises(FlakyError):
        run(call, [], attempts=3, delay_s=1.0)
    assert calls == [1]


@both
def test_the_delay_may_depend_on_the_retry_number(run):
    call, _calls = script(FlakyError("1"), FlakyError("2"), FlakyError("3"), "done")
    sleeps: list[float] = []
    assert run(call, sleeps, attempts=4, delay_s=lambda retry: (0.1, 0.2, 0.4)[retry],
               retryable=is_flaky) == "done"
    assert sleeps == [0.1, 0.2, 0.4]


@both
def test_on_failure_sees_every_retryable_failure_the_last_included(run):
    errors = [FlakyError("1"), FlakyError("2")]
    call, _calls = script(*errors)
    seen: list[tuple[int, Exception]] = []
    with pytest.raises(FlakyError):
        run(call, [], attempts=2, delay_s=0.0, retryable=is_flaky,
            on_failure=lambda attempt, error: seen.append((attempt, error)))
    assert seen == [(1, errors[0]), (2, errors[1])]


@both
def test_a_rejected_result_is_retried_and_the_last_one_returned(run):
    call, calls = script(503, 502, 500)
    sleeps: list[float] = []
    result = run(call, sleeps, attempts=3, delay_s=0.1,
                 retry_result=lambda status: status >= 500)
    assert result == 500
    assert calls == [1, 2, 3]
    assert sleeps == [0.1, 0.1]


@both
def test_an_accepted_result_ends_the_retries(run):
    call, calls = script(503, 404, 200)
    assert run(call, [], attempts=3, delay_s=0.1,
               retry_result=lambda status: status >= 500) == 404
    assert calls == [1, 2]


@both
@pytest.mark.parametrize("attempts", [0, -1])
def test_at_least_one_attempt_is_made(run, attempts):
    call, calls = script(FlakyError("1"), "never reached")
    sleeps: list[float] = []
    with pytest.raises(FlakyError):
        run(call, sleeps, attempts=attempts, delay_s=1.0, retryable=is_flaky)
    assert calls == [1]
    assert sleeps == []


def test_the_sync_form_runs_inside_a_running_event_loop_too():
    """It needs no event loop of its own, and does not touch the one it is called from."""
    call, calls = script(FlakyError("1"), "done")
    sleeps: list[float] = []

    async def main() -> Any:
        return retry_call(call, attempts=2, delay_s=0.3, retryable=is_flaky,
                          sleep=sleeps.append)

    assert asyncio.run(main()) == "done"
    assert calls == [1, 2]
    assert sleeps == [0.3]
