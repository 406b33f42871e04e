"""Background polling and the stream assembler, on an injected clock."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest

from lib.errors import ConfigError
from lib.openai.errors import CallInterruptedError, InternalServerError, NotFoundError
from lib.openai.responses import ResponseAssembler
from lib.responses.errors import LongestWaitPassedError
from lib.responses.polling import BackgroundWait, PollSchedule, schedule_from
from tests.support.action_support import RecordingLogger
from tests.support.openai_standin import in_state, response_events, response_object


class FakeTime:
    """A clock that moves only when the code under test waits."""

    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.waits: list[float] = []
        self.shutdown_after: int | None = None

    def clock(self) -> float:
        return self.now

    async def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        self.now += seconds
        return self.shutdown_after is not None and len(self.waits) > self.shutdown_after


class FakeClient:
    """Answers the polls from a list (an exception in it is raised)."""

    def __init__(self, answers: list[Any]) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, str]] = []

    async def request_json(self, method: str, path: str, body: Any = None, **_: Any) -> dict:
        self.calls.append((method, path))
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


FINAL = response_object("gpt-5", "done", background=True)
RUNNING = in_state(FINAL, "in_progress")


def waiter(client: FakeClient, time: FakeTime, logger: RecordingLogger | None = None
           ) -> BackgroundWait:
    return BackgroundWait(client=client, logger=logger or RecordingLogger(),  # type: ignore[arg-type]
                          timeout_s=60, clock=time.clock, wait=time.wait)


def test_intervals_grow_from_1_s_to_15_s() -> None:
    assert list(itertools.islice(PollSchedule().intervals(), 9)) == pytest.approx(
        [1, 1.5, 2.25, 3.375, 5.0625, 7.59375, 11.390625, 15, 15])


def test_polls_until_the_job_ends_and_logs_progress_now_and_then() -> None:
    time, logger = FakeTime(), RecordingLogger()
    client = FakeClient([RUNNING] * 20 + [FINAL])
    result = asyncio.run(waiter(client, time, logger).until_done(in_state(FINAL, "queued"),
                                                                  time.now + 3600, 3600))
    assert result == FINAL
    assert len(client.calls) == 21
    assert client.calls[0] == ("GET", f"/responses/{FINAL['id']}")
    assert time.waits[:3] == [1, 1.5, 2.25]
    assert max(time.waits) == 15
    progress = [line for _level, line in logger.lines if "is in_progress after" in line]
    assert 2 <= len(progress) <= len(time.waits) // 4, progress


def test_the_deadline_ends_the_wait_exactly() -> None:
    time = FakeTime()
    deadline = time.now + 100
    with pytest.raises(LongestWaitPassedError, match=r"longest wait of 1\.66667 minutes"):
        asyncio.run(waiter(FakeClient([RUNNING]), time).until_done(RUNNING, deadline, 100))
    assert time.now == deadline


def test_transient_poll_failures_are_retried_and_user_errors_are_not() -> None:
    time, logger = FakeTime(), RecordingLogger()
    client = FakeClient([InternalServerError("busy", status=503), FINAL])
    assert asyncio.run(waiter(client, time, logger).until_done(RUNNING, time.now + 60, 60)) \
        == FINAL
    assert "trying again" in logger.text()
    with pytest.raises(NotFoundError):
        asyncio.run(waiter(FakeClient([NotFoundError("gone", status=404)]), time).until_done(
            RUNNING, time.now + 60, 60))


def test_a_finished_response_is_not_polled() -> None:
    client = FakeClient([RUNNING])
    assert asyncio.run(waiter(client, FakeTime()).until_done(FINAL, 0, 60)) == FINAL
    assert client.calls == []


def test_poll_intervals_can_be_shortened_by_the_environment() -> None:
    assert schedule_from({}) == PollSchedule(1, 15)
    assert schedule_from({"RESPONSES_POLL_FIRST_S": "0.05", "RESPONSES_POLL_MAX_S": "0.2"}) \
        == PollSchedule(0.05, 0.2)
    for bad in ({"RESPONSES_POLL_FIRST_S": "soon"}, {"RESPONSES_POLL_MAX_S": "-1"},
                {"RESPONSES_POLL_FIRST_S": "5", "RESPONSES_POLL_MAX_S": "1"}):
        with pytest.raises(ConfigError, match="RESPONSES_POLL"):
            schedule_from(bad)


def test_the_assembler_takes_the_terminal_response_and_falls_back_to_done_items() -> None:
    final = response_object("gpt-5", "assembled")
    assembler = ResponseAssembler()
    for event in response_events(final):
        assembler.add(event)
    assert assembler.finished
    assert assembler.result() == final
    assert assembler.last_sequence_number == len(response_events(final)) - 1
    bare = ResponseAssembler()
    for event in response_events(final)[:-1]:
        bare.add(event)
    bare.add({"type": "response.completed", "response": final | {"output": []}})
    assert bare.result()["output"] == final["output"]


def test_shutdown_while_waiting_ends_the_wait() -> None:
    time = FakeTime()
    time.shutdown_after = 2
    client = FakeClient([RUNNING])
    with pytest.raises(CallInterruptedError, match="left running"):
        asyncio.run(waiter(client, time).until_done(RUNNING, time.now + 3600, 3600))
    assert len(client.calls) == 2
