"""Waiting for a background response: polling with growing intervals, up to a deadline.

`GET /responses/{id}` is asked after 1 s, then after intervals growing by half up to
15 s, while the job is `queued` or `in_progress`. The wait between two polls is a timer on
the sailor's event loop (``lib.openai.stopping.sleep_unless_stopped``): no thread waits
for a job, so a process holds as many waiting jobs as its prefetch lets in. A shutdown
(the step's stop signal) ends the wait within a fraction of a second (the job keeps
running at OpenAI and is resumed by the next delivery of the message). A poll that fails for a
transient reason (network, 5xx, rate limit) is logged and tried again at the next
interval; the deadline still holds. The clock and the wait are injected for tests.

The intervals can be shortened for tests and trials with two environment variables,
``RESPONSES_POLL_FIRST_S`` and ``RESPONSES_POLL_MAX_S`` (seconds; defaults 1 and 15).
"""

from __future__ import annotations

import functools
import math
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from lib.errors import ConfigError, is_user_error
from lib.openai.async_client import AsyncOpenAIClient
from lib.openai.errors import CallInterruptedError, OpenAIError
from lib.openai.responses import (
    RUNNING_STATUSES,
    response_id_of,
    retrieve_response,
    status_of,
)
from lib.openai.stopping import sleep_unless_stopped
from lib.responses.errors import LongestWaitPassedError

FIRST_POLL_S = 1.0
MAX_POLL_S = 15.0
POLL_GROWTH = 1.5
PROGRESS_LOG_EVERY_S = 60.0
POLL_FIRST_VARIABLE = "RESPONSES_POLL_FIRST_S"
POLL_MAX_VARIABLE = "RESPONSES_POLL_MAX_S"


@dataclass(frozen=True)
class PollSchedule:
    """The intervals between polls: `first_s`, then growing by half up to `max_s`."""

    first_s: float = FIRST_POLL_S
    max_s: float = MAX_POLL_S

    def intervals(self) -> Iterator[float]:
        interval = self.first_s
        while True:
            yield interval
            interval = min(interval * POLL_GROWTH, self.max_s)


def _seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{name} must be a positive number of seconds, got {raw!r}")
    return value


def schedule_from(environ: Mapping[str, str]) -> PollSchedule:
    """The schedule, shortened by the environment variables if they are set."""
    first_s = _seconds(environ, POLL_FIRST_VARIABLE, FIRST_POLL_S)
    max_s = _seconds(environ, POLL_MAX_VARIABLE, max(MAX_POLL_S, first_s))
    if max_s < first_s:
        raise ConfigError(f"{POLL_MAX_VARIABLE} ({max_s:g}) must not be below "
                          f"{POLL_FIRST_VARIABLE} ({first_s:g})")
    return PollSchedule(first_s, max_s)


@dataclass
class BackgroundWait:
    """Polls one background response until it ends, the deadline passes or the step
    shuts down."""

    client: AsyncOpenAIClient
    logger: Any
    timeout_s: float
    stop: threading.Event = field(default_factory=threading.Event)
    schedule: PollSchedule = field(default_factory=PollSchedule)
    clock: Callable[[], float] = time.time
    # waits up to the given seconds; True when the step shuts down meanwhile
    wait: Callable[[float], Awaitable[bool]] | None = None

    async def until_done(self, response: dict[str, Any], deadline_at: float,
                         longest_wait_s: float) -> dict[str, Any]:
        """The response once it is no longer queued or in progress.

        Raises `LongestWaitPassedError` at `deadline_at` (the caller cancels the job) and
        `CallInterruptedError` when the step shuts down."""
        wait = self.wait or functools.partial(sleep_unless_stopped, stop=self.stop)
        response_id = response_id_of(response)
        intervals = self.schedule.intervals()
        started = self.clock()
        last_log = started
        polls = 0
        while status_of(response) in RUNNING_STATUSES:
            now = self.clock()
            if now >= deadline_at:
                raise LongestWaitPassedError(response_id, status_of(response), longest_wait_s)
            if await wait(min(next(intervals), deadline_at - now)):
                raise CallInterruptedError(
                    f"the step is shutting down; the background response {response_id} is "
                    "left running for the next delivery")
            polls += 1
            try:
                response = await retrieve_response(self.client, response_id,
                                                   timeout_s=self.timeout_s,
                                                   logger=self.logger, stop=self.stop)
            except OpenAIError as err:
                if is_user_error(err):
                    raise
                self.logger.warning("Polling the background response %s failed (%s); "
                                    "trying again", response_id, str(err))
                continue
            now = self.clock()
            if now - last_log >= PROGRESS_LOG_EVERY_S:
                last_log = now
                self.logger.info("The background response %s is %s after %d s (%d polls)",
                                 response_id, status_of(response), round(now - started),
                                 polls)
        return response
