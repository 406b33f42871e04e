"""When to retry a call and how long to wait first (docs/openai-api.md#retry-policy).

Pure functions over status, headers and the retry count; the waiting itself (sleep, clock,
randomness) is injected through `RetryPolicy`, and the client waits only through
`RetryPolicy.wait`, so tests that inject `sleep` never sleep.
"""

from __future__ import annotations

import email.utils
import math
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from lib.openai.errors import INSUFFICIENT_QUOTA
from lib.openai.stopping import sleep_unless_stopped

MAX_RETRIES = 2  # 3 attempts in all, as the official SDK
INITIAL_RETRY_DELAY_S = 0.5
MAX_RETRY_DELAY_S = 8.0
JITTER_FRACTION = 0.25  # the backoff is shortened by 0-25 %
MAX_RETRY_AFTER_S = 60.0  # a longer server-requested wait is not slept through in-process
RETRYABLE_STATUSES = frozenset({408, 409, 429})
NEVER_RETRIED_CODES = frozenset({INSUFFICIENT_QUOTA})


def should_retry(status: int, headers: Mapping[str, str], code: str | None = None) -> bool:
    """Whether an HTTP error answer is worth another attempt."""
    if code in NEVER_RETRIED_CODES:
        return False
    should_retry_header = headers.get("x-should-retry", "").strip().lower()
    if should_retry_header == "true":
        return True
    if should_retry_header == "false":
        return False
    return status in RETRYABLE_STATUSES or status >= 500


def server_requested_delay_s(headers: Mapping[str, str], now: float) -> float | None:
    """The wait the server asks for: `retry-after-ms`, else `retry-after` (seconds or date)."""
    milliseconds = _finite_float(headers.get("retry-after-ms"))
    if milliseconds is not None:
        return milliseconds / 1000
    retry_after = headers.get("retry-after")
    if not retry_after:
        return None
    seconds = _finite_float(retry_after)
    if seconds is not None:
        return seconds
    date = email.utils.parsedate_tz(retry_after)
    if date is None:
        return None
    return email.utils.mktime_tz(date) - now


def _finite_float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def backoff_delay_s(retries_taken: int, rand: float) -> float:
    """Exponential backoff with negative jitter: 0.5 s, 1 s, 2 s... capped at 8 s."""
    delay = min(INITIAL_RETRY_DELAY_S * 2.0**retries_taken, MAX_RETRY_DELAY_S)
    return delay * (1 - JITTER_FRACTION * rand)


@dataclass(frozen=True)
class RetryPolicy:
    """How many retries, the longest server-requested wait honoured, and the injected time.

    `sleep` replaces the real wait (tests); left out, the wait is real and a stop signal
    ends it early."""

    max_retries: int = MAX_RETRIES
    max_retry_after_s: float = MAX_RETRY_AFTER_S
    sleep: Callable[[float], None] | None = None
    clock: Callable[[], float] = time.time
    random: Callable[[], float] = random.random

    def delay_s(self, retries_taken: int, headers: Mapping[str, str] | None = None) -> float:
        """The wait before the next attempt: the server's (if sane and short), else backoff."""
        requested = server_requested_delay_s(headers, self.clock()) if headers else None
        if requested is not None and 0 < requested <= self.max_retry_after_s:
            return requested
        return backoff_delay_s(retries_taken, self.random())

    def wait(self, delay_s: float, stop: threading.Event | None = None) -> None:
        """Wait `delay_s` before the next attempt: the injected `sleep`, else a real wait
        that a set `stop` ends early (the caller then checks `stop` and stops)."""
        if self.sleep is not None:
            self.sleep(delay_s)
        elif stop is not None:
            stop.wait(delay_s)
        else:
            time.sleep(delay_s)

    async def wait_async(self, delay_s: float, stop: threading.Event | None = None) -> None:
        """`wait` on the event loop: the injected `sleep`, else a wait on the loop that a
        set `stop` ends early (lib.openai.stopping)."""
        if self.sleep is not None:
            self.sleep(delay_s)
        else:
            await sleep_unless_stopped(delay_s, stop)

    def too_long_wait_s(self, headers: Mapping[str, str]) -> float | None:
        """The server-requested wait, if it exceeds what we sleep through in-process."""
        requested = server_requested_delay_s(headers, self.clock())
        if requested is not None and requested > self.max_retry_after_s:
            return requested
        return None
