"""Publish throttles (docs/protocol.md#throttles): DATA/ERROR/SNAPSHOT_RATE_LIMIT per
RATE_INTERVAL."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import pytest
from elasticio_sailor.rate_limit import Throttle


def test_fixed_windows_like_p_throttle() -> None:
    throttle = Throttle(2, 0.5)
    # two starts in the first window, the overflow goes to the following windows
    assert [throttle.reserve(now=10.0) for _ in range(5)] == [0.0, 0.0, 0.5, 0.5, 1.0]
    # once the queued windows have passed, a call opens a new window at once
    assert throttle.reserve(now=12.0) == 0.0
    assert throttle.reserve(now=12.1) == 0.0
    assert throttle.reserve(now=12.2) == pytest.approx(0.3)


def test_window_boundary_is_exclusive() -> None:
    throttle = Throttle(1, 0.25)
    assert throttle.reserve(now=1.0) == 0.0
    assert throttle.reserve(now=1.25) == 0.0  # still the first window (full): the next one
    assert throttle.reserve(now=1.375) == 0.125  # the window of 1.25 is full: 1.5
    assert throttle.reserve(now=2.0) == 0.0  # > interval after the last window: a new one


def test_lifted_limit_never_sleeps() -> None:
    throttle = Throttle(1_000_000, 0.1)

    async def many() -> float:
        started = time.perf_counter()
        for _ in range(20_000):
            await throttle.wait()
        return time.perf_counter() - started

    assert asyncio.run(many()) < 1.0  # a few microseconds per call, no sleeping


def test_wait_delays_the_overflow() -> None:
    throttle = Throttle(2, 0.2)

    async def starts() -> list[float]:
        begin = time.monotonic()
        out = []
        for _ in range(5):
            await throttle.wait()
            out.append(time.monotonic() - begin)
        return out

    times = asyncio.run(starts())
    assert times[1] < 0.1
    assert 0.15 < times[2] < 0.6
    assert 0.35 < times[4] < 1.5


@pytest.mark.broker
@pytest.mark.parametrize(
    ("kind", "limit_var", "event", "payload"),
    [
        ("data", "ELASTICIO_DATA_RATE_LIMIT", "data", {"body": {"n": 1}}),
        ("error", "ELASTICIO_ERROR_RATE_LIMIT", "error", {"message": "boom"}),
        ("snapshot", "ELASTICIO_SNAPSHOT_RATE_LIMIT", "snapshot", {"n": 1}),
    ],
)
def test_six_outputs_at_two_per_half_second_take_a_second(
    sim, kind, limit_var, event, payload,
) -> None:
    sim.publish_input({"body": {"emit": [[event, payload]] * 6 + [["end"]]}})
    run = sim.start_sailor("scripted", **{limit_var: "2", "ELASTICIO_RATE_INTERVAL": "500"},
                           LOG_LEVEL="trace")
    assert len(sim.wait_published(6)) == 6
    assert run.stop() == 0
    assert len(sim.published_to(kind)) == 6
    # When the sailor published, by its own clock (the trace record of each publish): the
    # collector's receive times can bunch up on a busy machine.
    pushed = sorted(
        datetime.fromisoformat(record["time"]).timestamp()
        for record in run.records()
        if record.get("msg") == "Pushing to exchange"
        and record.get("routingKey") == sim.routing_keys[kind])
    assert len(pushed) == 6
    # windows at 0, 0.5 and 1.0 s: never three within one window, six take >= ~1 s
    assert pushed[-1] - pushed[0] >= 0.9
    assert all(pushed[i + 2] - pushed[i] >= 0.4 for i in range(4))
    assert pushed[-1] - pushed[0] < 5
    if kind != "snapshot":  # data and error carry the publish time in `end`
        ends = sorted(p.headers["end"] for p in sim.published_to(kind))
        assert ends[-1] - ends[0] >= 900


@pytest.mark.broker
def test_lifted_limit_publishes_without_delay(sim) -> None:
    sim.publish_input({"body": {"emit": [["data", {"body": {"n": i}}] for i in range(30)]}})
    run = sim.start_sailor("scripted", ELASTICIO_DATA_RATE_LIMIT="1000000")
    assert len(sim.wait_published(30)) == 30
    assert run.stop() == 0
    ends = sorted(p.headers["end"] for p in sim.published_to("data"))
    # the default (10 per 100 ms) would need >= 200 ms for 30 messages
    assert ends[-1] - ends[0] < 200
