"""Start-up, init and shutdown hooks (docs/protocol.md#start-up,
docs/protocol.md#shutdown-hook-mode), plus two task-mode details: the implicit ``end``
after an explicit one, and standard ``logging`` records as JSON lines."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.platform_sim import (
    API_USERNAME,
    COMPONENTS,
    DEFAULT_STEP_DATA,
    FLOW_ID,
    STEP_ID,
    step_identity_env,
)
from tests.support.recording_server import log_records, run_cli

COMPONENT = COMPONENTS / "hooks"
STARTUP_DATA = f"/sailor-support/hooks/task/{FLOW_ID}/startup/data"
API_KEY = "hooks-api-key-SECRET"


def step_data(api_url: str, **config: Any) -> dict[str, Any]:
    return {**DEFAULT_STEP_DATA, "config": {
        **DEFAULT_STEP_DATA["config"], "callbackUrl": api_url + "/component-callback",
        **config}}


def hook_calls(server: Any) -> list[tuple[str, str]]:
    """(method, path) of the hook callbacks and startup-data calls, in order."""
    return [(r.method, r.path) for r in server.requests
            if r.path.startswith(("/component-callback/", "/sailor-support/"))]


# --- item 8: STARTUP_REQUIRED ------------------------------------------------------------


@pytest.mark.broker
def test_startup_result_is_stored_before_init(sim) -> None:
    sim.api.answer("GET", f"/v1/tasks/{FLOW_ID}/steps/{STEP_ID}", (200, step_data(sim.api.url)))
    sim.publish_input({"body": {"tick": 1}})
    run = sim.start_sailor("hooks", cwd=COMPONENT, ELASTICIO_STARTUP_REQUIRED="1")
    [data] = sim.wait_published(1)
    assert run.stop() == 0
    assert hook_calls(sim.api) == [
        ("POST", "/component-callback/startup"),
        ("POST", STARTUP_DATA),
        ("POST", "/component-callback/init"),
    ]
    [stored] = [r for r in sim.api.requests if r.path == STARTUP_DATA]
    assert stored.json() == {"webhookId": "wh-123"}
    assert stored.basic_auth() == f"{API_USERNAME}:sim-api-key-SECRET"
    assert stored.headers["content-type"].startswith("application/json")
    assert data.decoded()["body"] == {"initCalls": 1, "got": {"tick": 1}}


@pytest.mark.broker
@pytest.mark.parametrize("result", [None, [], "", 0])
def test_empty_startup_result_is_stored_as_empty_object(sim, result) -> None:
    sim.api.answer("GET", f"/v1/tasks/{FLOW_ID}/steps/{STEP_ID}",
                   (200, step_data(sim.api.url, startupResult=result)))
    run = sim.start_sailor("hooks", cwd=COMPONENT, ELASTICIO_STARTUP_REQUIRED="1")
    assert run.stop() == 0
    [stored] = [r for r in sim.api.requests if r.path == STARTUP_DATA]
    assert stored.json() == {}


@pytest.mark.broker
def test_startup_data_conflict_deletes_and_stores_again(sim) -> None:
    sim.api.answer("GET", f"/v1/tasks/{FLOW_ID}/steps/{STEP_ID}",
                   (200, step_data(sim.api.url, startupResult=None)))
    sim.api.answer("POST", STARTUP_DATA, (409, {"error": "already exists"}), (200, {}))
    run = sim.start_sailor("hooks", cwd=COMPONENT, ELASTICIO_STARTUP_REQUIRED="1")
    assert run.stop() == 0
    assert hook_calls(sim.api) == [
        ("POST", "/component-callback/startup"),
        ("POST", STARTUP_DATA),
        ("DELETE", STARTUP_DATA),
        ("POST", STARTUP_DATA),
        ("POST", "/component-callback/init"),
    ]
    posts = [r for r in sim.api.requests if r.path == STARTUP_DATA and r.method == "POST"]
    # deviation from Node (docs/protocol.md#deviation-startup-conflict): the retry stores the
    # normalised state ({}), not the raw result (null)
    assert [p.json() for p in posts] == [{}, {}]
    assert any(r.get("level") == 40 and "already exists" in r["msg"] for r in run.records())


@pytest.mark.broker
def test_async_hooks_and_missing_startup(sim) -> None:
    sim.api.answer("GET", f"/v1/tasks/{FLOW_ID}/steps/{STEP_ID}", (200, step_data(sim.api.url)))
    run = sim.start_sailor("hooks_async", cwd=COMPONENT, ELASTICIO_STARTUP_REQUIRED="1")
    assert run.stop() == 0
    [stored] = [r for r in sim.api.requests if r.path == STARTUP_DATA]
    assert stored.json() == {"asyncStartup": True}
    assert ("POST", "/component-callback/init") in hook_calls(sim.api)

    sim.api.requests.clear()
    run = sim.start_sailor("no_hooks", cwd=COMPONENT, ELASTICIO_STARTUP_REQUIRED="1")
    assert run.stop() == 0
    [stored] = [r for r in sim.api.requests if r.path == STARTUP_DATA]
    assert stored.json() == {}
    messages = [r["msg"] for r in run.records()]
    assert "invokeModuleFunction - startup is not found" in messages
    assert "invokeModuleFunction - init is not found" in messages


@pytest.mark.broker
def test_startup_data_failure_aborts_start_up(sim) -> None:
    sim.api.answer("GET", f"/v1/tasks/{FLOW_ID}/steps/{STEP_ID}", (200, step_data(sim.api.url)))
    sim.api.answer("POST", STARTUP_DATA, (400, {"error": "bad state"}))
    run = sim.start_sailor("hooks", cwd=COMPONENT, wait_ready=False,
                           ELASTICIO_STARTUP_REQUIRED="1")
    assert run.wait() == 1
    [report] = sim.wait_published(1)
    assert report.routing_key == sim.routing_keys["error"]
    assert report.envelope()["error"]["message"] == "bad state"
    assert ("POST", "/component-callback/init") not in hook_calls(sim.api)


# --- item 9: shutdown-hook mode ----------------------------------------------------------


def shutdown_env(platform: Any, function: str = "hooks") -> dict[str, str]:
    """The always-required variables only: no AMQP, no crypto (they are not required in this
    mode)."""
    return {
        **step_identity_env(platform.url, function, api_username="user@example.com",
                            api_key=API_KEY),
        "ELASTICIO_HOOK_SHUTDOWN": "1",
    }


@pytest.mark.parametrize("function", ["hooks", "hooks_async"])
def test_shutdown_hook_mode_calls_shutdown_and_deletes_the_data(platform, function) -> None:
    platform.answer("GET", f"/v1/tasks/{FLOW_ID}/steps/{STEP_ID}",
                    (200, step_data(platform.url)))
    platform.answer("GET", STARTUP_DATA, (200, {"webhookId": "wh-123"}))
    done = run_cli(["run"], shutdown_env(platform, function), COMPONENT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert [(r.method, r.path) for r in platform.requests] == [
        ("GET", f"/v1/tasks/{FLOW_ID}/steps/{STEP_ID}"),
        ("GET", STARTUP_DATA),
        ("POST", "/component-callback/shutdown"),
        ("DELETE", STARTUP_DATA),
    ]
    shutdown = platform.requests[2].json()
    assert shutdown == {"cfgKeys": ["_account", "apiKey", "callbackUrl"],
                        "startupData": {"webhookId": "wh-123"}}
    for request in (platform.requests[1], platform.requests[3]):
        assert request.basic_auth() == f"user@example.com:{API_KEY}"
    assert API_KEY not in done.stdout + done.stderr
    assert all(not r.get("unparsed") for r in log_records(done.stdout))


def test_failing_shutdown_hook_exits_1_and_keeps_the_data(platform) -> None:
    platform.answer("GET", f"/v1/tasks/{FLOW_ID}/steps/{STEP_ID}",
                    (200, step_data(platform.url)))
    done = run_cli(["run"], shutdown_env(platform, "failing_shutdown"), COMPONENT)
    assert done.returncode == 1
    assert ("DELETE", STARTUP_DATA) not in [(r.method, r.path) for r in platform.requests]
    fatal = [r for r in log_records(done.stdout) if r["level"] == 60]
    assert fatal
    assert "shutdown failed on purpose" not in done.stdout  # foreign errors: type only


# --- task-mode details ------------------------------------------------------------------


@pytest.mark.broker
def test_end_then_return_is_not_a_second_end(sim) -> None:
    """A component that emits ``end`` and then returns ``None`` (sync or async) is normal
    in Python: no 'called more than once' warning, one settlement."""
    sim.publish_input({"body": {"sync": True, "emit": [["data", {"body": {"n": 1}}], ["end"]]}})
    sim.publish_input({"body": {"emit": [["data", {"body": {"n": 2}}], ["end"]]}})
    run = sim.start_sailor("scripted")
    assert len(sim.wait_published(2)) == 2
    assert sim.wait_until(lambda: sim.input_depth() == 0)
    assert run.stop() == 0
    assert sim.rejected_count() == 0
    assert not [r for r in run.records() if "more than once" in r.get("msg", "")]


@pytest.mark.broker
def test_stdlib_logging_becomes_json_lines(sim) -> None:
    sim.api.answer("GET", f"/v1/tasks/{FLOW_ID}/steps/{STEP_ID}", (200, step_data(sim.api.url)))
    run = sim.start_sailor("hooks", cwd=COMPONENT)
    assert run.stop() == 0
    records = run.records()
    assert all(not r.get("unparsed") for r in records), run.output()
    [warning] = [r for r in records if r.get("msg") == "stdlib warning from init"]
    assert warning["level"] == 40
    assert warning["logger"] == "hooks.component"
    assert warning["name"] == "sailor"


@pytest.mark.broker
def test_trace_records_describe_each_publish_without_the_body(sim) -> None:
    """docs/protocol.md#secrets: exchange, routing key, size and AMQP headers at trace level, never
    the body."""
    sim.publish_input({"body": {"emit": [["data", {"body": {"secretText": "BODY-MARKER"}}],
                                         ["snapshot", {"cursor": "SNAPSHOT-MARKER"}]]}})
    run = sim.start_sailor("scripted", LOG_LEVEL="trace")
    assert len(sim.wait_published(2)) == 2
    assert run.stop() == 0
    pushes = [r for r in run.records() if r.get("msg") == "Pushing to exchange"]
    assert {r["routingKey"] for r in pushes} == {
        sim.routing_keys["data"], sim.routing_keys["snapshot"]}
    for record in pushes:
        assert record["level"] == 10
        assert record["exchange"] == sim.exchange
        assert record["messageSize"] > 0
        assert record["headers"]["taskId"] == FLOW_ID
    assert "BODY-MARKER" not in run.output()
    assert "SNAPSHOT-MARKER" not in run.output()

    sim.publish_input({"body": {"emit": [["data", {"body": {}}]]}})
    run = sim.start_sailor("scripted")  # info: no trace records at all
    assert len(sim.wait_published(3)) == 3
    assert run.stop() == 0
    assert not [r for r in run.records() if r.get("level") == 10]
