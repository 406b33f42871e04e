"""The same component functions through ``exec`` and through task mode on the real broker
give the same events: both use one set of return/raise rules, and this catches a drift."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.support.platform_sim import COMPONENTS
from tests.support.recording_server import run_cli

pytestmark = pytest.mark.broker

COMPONENT = COMPONENTS / "outcomes"
CASES: list[dict[str, Any]] = [
    {"return": {"body": {"a": 1}}},
    {"return": {"body": {"a": 1}, "headers": {"x": "y"}, "attachments": {}}},
    {"return": None},
    {"return": False},
    {"return": 0},
    {"return": ""},
    {"return": {}},  # an empty object is truthy: data
    {"raise": "bad input"},
    {"emit": [["data", {"body": {"n": 1}}]], "return": {"body": {"n": 2}}},
    {"emit": [["data", {"body": {"n": 1}}], ["end", None]], "return": None},
    {"emit": [["error", {"message": "emitted"}]], "return": {"body": {"after": "error"}}},
    {"emit": [["end", None]], "return": {"body": {"after": "end"}}},
]


def comparable(event: str, payload: Any) -> tuple[Any, ...]:
    """A data message by its body, an error by name and message."""
    if event == "data":
        return ("data", payload.get("body"))
    return ("error", payload["name"], payload["message"])


def through_exec(function: str, body: dict[str, Any]) -> list[tuple[Any, ...]]:
    done = run_cli(["exec", function, "--msg", "-"], {}, COMPONENT,
                   stdin=json.dumps({"body": body}))
    printed = [json.loads(line) for line in done.stdout.splitlines()]
    assert [p["event"] for p in printed].count("end") == 1, done.stderr  # settled once
    return [comparable(p["event"], p["payload"]) for p in printed if p["event"] != "end"]


def through_task_mode(sim, function: str, outputs: int) -> list[list[tuple[Any, ...]]]:
    """The events of each case, by the ``parentMessageId`` of what was published; waits
    for ``outputs`` messages, and then for all of them (a marker comes after them)."""
    ids = [sim.publish_input({"body": body})["messageId"] for body in CASES]
    run = sim.start_sailor(function, cwd=COMPONENT)
    sim.wait_published(outputs, timeout=30)
    assert sim.wait_until(lambda: sim.input_depth() == 0)
    assert run.stop() == 0
    events: dict[str, list[tuple[Any, ...]]] = {message_id: [] for message_id in ids}
    for published in sim.published_until_now():
        parent = published.headers["parentMessageId"]
        if published.routing_key == sim.routing_keys["data"]:
            events[parent].append(comparable("data", published.decoded()))
        else:
            events[parent].append(comparable("error", published.envelope()["error"]))
    return [events[message_id] for message_id in ids]


@pytest.mark.parametrize("function", ["outcome", "outcome_async"])
def test_exec_and_task_mode_emit_the_same_events(sim, function: str) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        from_exec = list(pool.map(lambda body: through_exec(function, body), CASES))
    outputs = sum(len(events) for events in from_exec)
    assert outputs == 10  # data and errors in CASES: both ways really ran them
    from_task_mode = through_task_mode(sim, function, outputs)
    assert from_task_mode == from_exec
    with_error = sum(any(e[0] == "error" for e in events) for events in from_exec)
    assert sim.rejected_count() == with_error
