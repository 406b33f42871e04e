"""The bounded wait until a vector store has indexed the file (clock and wait injected)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from lib.errors import UserError
from lib.files.indexing import (
    FileNotIndexableError,
    IndexingFailedError,
    IndexingTooLongError,
    IndexingWait,
    poll_intervals,
)
from lib.openai.errors import CallInterruptedError


def store_file(status: str, error: dict[str, str] | None = None) -> dict[str, Any]:
    return {"id": "file-1", "object": "vector_store.file", "vector_store_id": "vs_1",
            "status": status, "last_error": error, "usage_bytes": 10, "created_at": 1}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        self.now += seconds
        return False


def waiter(clock: Clock, answers: list[dict[str, Any]], longest_wait_s: float = 60,
           wait: Any = None) -> tuple[IndexingWait, list[int]]:
    polls: list[int] = []

    def retrieve() -> dict[str, Any]:
        polls.append(1)
        return answers.pop(0)

    return IndexingWait(retrieve=retrieve, intervals=lambda: itertools.repeat(5.0),
                        clock=lambda: clock.now, wait=wait or clock.wait,
                        longest_wait_s=longest_wait_s), polls


def test_the_file_is_polled_until_completed() -> None:
    clock = Clock()
    wait, polls = waiter(clock, [store_file("in_progress"), store_file("completed")])
    assert wait.until_indexed(store_file("in_progress"))["status"] == "completed"
    assert (len(polls), clock.waits) == (2, [5.0, 5.0])


def test_a_file_already_indexed_is_not_polled() -> None:
    clock = Clock()
    wait, polls = waiter(clock, [])
    assert wait.until_indexed(store_file("completed"))["status"] == "completed"
    assert polls == []


def test_the_wait_ends_at_the_longest_wait_with_what_to_do() -> None:
    clock = Clock()
    wait, polls = waiter(clock, [store_file("in_progress")] * 100, longest_wait_s=12)
    with pytest.raises(IndexingTooLongError) as caught:
        wait.until_indexed(store_file("in_progress"))
    assert clock.waits == [5.0, 5.0, 2.0]
    assert len(polls) == 3
    text = str(caught.value)
    assert "file-1 in the vector store vs_1 was still being indexed after 0.2 minutes" in text
    assert "may still be indexed" in text
    assert isinstance(caught.value, UserError)


def test_an_unsupported_file_is_the_users_fault_a_server_error_is_not() -> None:
    clock = Clock()
    wait, _ = waiter(clock, [store_file("failed", {"code": "unsupported_file",
                                                   "message": "File type not supported"})])
    with pytest.raises(FileNotIndexableError, match="File type not supported "
                       r"\(unsupported_file\)") as caught:
        wait.until_indexed(store_file("in_progress"))
    assert isinstance(caught.value, UserError)

    wait, _ = waiter(clock, [store_file("failed", {"code": "server_error", "message": "oops"})])
    with pytest.raises(IndexingFailedError) as caught_server:
        wait.until_indexed(store_file("in_progress"))
    assert not isinstance(caught_server.value, UserError)


def test_a_cancelled_file_fails_with_its_status() -> None:
    clock = Clock()
    wait, _ = waiter(clock, [store_file("cancelled")])
    with pytest.raises(IndexingFailedError, match=r"no reason given \(cancelled\)"):
        wait.until_indexed(store_file("in_progress"))


def test_the_polls_slow_down_to_one_every_five_seconds() -> None:
    assert list(itertools.islice(poll_intervals(), 6)) == [1, 2, 4, 5, 5, 5]


def test_a_shutdown_ends_the_wait_at_once() -> None:
    clock = Clock()
    wait, polls = waiter(clock, [], wait=lambda _seconds: True)
    with pytest.raises(CallInterruptedError, match="shutting down"):
        wait.until_indexed(store_file("in_progress"))
    assert polls == []
