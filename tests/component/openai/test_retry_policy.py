"""The retry decision and the waits, as pure functions (docs/openai-api.md#retry-policy)."""

from __future__ import annotations

import email.utils

import pytest

from lib.openai.retry import (
    INITIAL_RETRY_DELAY_S,
    MAX_RETRY_AFTER_S,
    MAX_RETRY_DELAY_S,
    RetryPolicy,
    backoff_delay_s,
    server_requested_delay_s,
    should_retry,
)

NOW = 1_800_000_000.0


@pytest.mark.parametrize(("status", "retried"), [
    (400, False), (401, False), (403, False), (404, False), (422, False),
    (408, True), (409, True), (429, True), (500, True), (502, True), (503, True), (504, True),
])
def test_which_statuses_are_retried(status: int, retried: bool) -> None:
    assert should_retry(status, {}) is retried


def test_insufficient_quota_is_never_retried() -> None:
    assert should_retry(429, {}, "insufficient_quota") is False
    assert should_retry(429, {"x-should-retry": "true"}, "insufficient_quota") is False


def test_the_server_header_overrides_the_status() -> None:
    assert should_retry(500, {"x-should-retry": "false"}) is False
    assert should_retry(400, {"x-should-retry": "true"}) is True
    assert should_retry(503, {"x-should-retry": "maybe"}) is True


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [backoff_delay_s(n, 0.0) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert INITIAL_RETRY_DELAY_S == 0.5
    assert MAX_RETRY_DELAY_S == 8.0


def test_jitter_shortens_by_at_most_a_quarter() -> None:
    assert backoff_delay_s(0, 1.0) == pytest.approx(0.375)
    assert backoff_delay_s(3, 0.5) == pytest.approx(3.5)


@pytest.mark.parametrize(("headers", "expected"), [
    ({"retry-after-ms": "250"}, 0.25),
    ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
    ({"retry-after": "7"}, 7.0),
    ({"retry-after": "1.5"}, 1.5),
    ({"retry-after": email.utils.formatdate(NOW + 20, usegmt=True)}, 20.0),
    ({"retry-after": "soon"}, None),
    ({"retry-after-ms": "inf"}, None),
    ({"retry-after": "nan"}, None),
    ({}, None),
])
def test_the_server_requested_delay_is_read_from_the_headers(
        headers: dict[str, str], expected: float | None) -> None:
    assert server_requested_delay_s(headers, NOW) == expected


def policy() -> RetryPolicy:
    return RetryPolicy(sleep=lambda _s: None, clock=lambda: NOW, random=lambda: 0.0)


def test_policy_honours_a_short_server_delay() -> None:
    assert policy().delay_s(0, {"retry-after": "3"}) == 3.0
    assert policy().too_long_wait_s({"retry-after": "3"}) is None


@pytest.mark.parametrize("headers", [
    {"retry-after": "0"},
    {"retry-after": "-5"},
    {"retry-after": email.utils.formatdate(NOW - 60, usegmt=True)},
    {"retry-after": "garbage"},
    {},
])
def test_policy_falls_back_to_backoff(headers: dict[str, str]) -> None:
    assert policy().delay_s(2, headers) == 2.0


def test_a_wait_above_the_cap_is_reported_not_slept() -> None:
    headers = {"retry-after": str(int(MAX_RETRY_AFTER_S) + 1)}
    assert policy().too_long_wait_s(headers) == MAX_RETRY_AFTER_S + 1
    assert policy().delay_s(0, headers) == 0.5
