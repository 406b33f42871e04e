"""Start-up and settings (docs/protocol.md#start-up), on the real broker."""

from __future__ import annotations

import json

import pytest

from tests.support.platform_sim import (
    API_KEY,
    API_USERNAME,
    COMPONENTS,
    FLOW_ID,
    STEP_ID,
)

pytestmark = pytest.mark.broker


def fatal_messages(run) -> list[str]:
    return [r.get("msg", "") for r in run.records() if r.get("level") == 60]


def test_missing_flow_id_is_fatal_without_amqp(sim, broker) -> None:
    run = sim.start_sailor("echo", wait_ready=False, ELASTICIO_FLOW_ID=None)
    assert run.wait() == 1
    assert any("ELASTICIO_FLOW_ID is missing" in m for m in fatal_messages(run))
    assert sim.api.requests == []
    assert all("-read" not in name and "-write" not in name
               for name in broker.connection_names())


def test_step_data_fetched_once_with_basic_auth(sim) -> None:
    run = sim.start_sailor("echo")
    assert run.stop() == 0
    [request] = sim.api.requests
    assert request.method == "GET"
    assert request.path == f"/v1/tasks/{FLOW_ID}/steps/{STEP_ID}"
    assert request.basic_auth() == f"{API_USERNAME}:{API_KEY}"


def test_component_path_is_relative_to_cwd(sim) -> None:
    sim.publish_input({"body": {"a": 1}})
    run = sim.start_sailor("const", cwd=COMPONENTS, ELASTICIO_COMPONENT_PATH="/task")
    [data] = sim.wait_published(1)
    assert data.decoded() == {"body": {"x": 1}, "headers": {}}
    assert run.stop() == 0


@pytest.mark.parametrize(("raw", "expected"), [("2", 2), ("0", 1), ("abc", 1)])
def test_prefetch_limits_messages_in_flight(sim, raw: str, expected: int) -> None:
    """With prefetch N exactly N slow messages are in flight (unacked) at once."""
    for _ in range(3):
        sim.publish_input({"body": {"sleep": 1.5}})
    run = sim.start_sailor("slow", ELASTICIO_RABBITMQ_PREFETCH_SAILOR=raw)
    assert sim.wait_until(lambda: sim.input_depth() == 3 - expected, timeout=5)
    run.terminate()
    assert run.wait() == 0
    assert len(sim.published_to("data")) == expected
    assert sim.input_depth() == 3 - expected


def test_no_error_replies_zero_means_true(sim) -> None:
    sim.publish_input({"body": {}}, reply_to="reply-key")
    run = sim.start_sailor("fail", ELASTICIO_NO_ERROR_REPLIES="0")
    sim.wait_published(1)
    assert run.stop() == 0
    assert [p.routing_key for p in sim.published_until_now()] == [sim.routing_keys["error"]]


def test_missing_main_file_reports_init_error(sim) -> None:
    sim.publish_input({"body": {"x": 1}})
    run = sim.start_sailor("missing_file", wait_ready=False)
    assert run.wait() == 1
    [report] = sim.wait_published(1)
    assert report.routing_key == sim.routing_keys["error"]
    assert list(json.loads(report.body)) == ["error"]
    error = report.envelope()["error"]
    assert error["message"].startswith("Failed to load file './lib/actions/does_not_exist.py'")
    assert sim.input_depth() == 1
    assert sim.rejected_count() == 0


def test_init_failure_reports_with_step_headers(sim) -> None:
    run = sim.start_sailor("fails_init", wait_ready=False,
                           ELASTICIO_ADDITIONAL_VARS_FOR_HEADERS="ELASTICIO_TENANT_ID",
                           ELASTICIO_TENANT_ID="tenant-1")
    assert run.wait() == 1
    [report] = sim.wait_published(1)
    assert report.envelope()["error"]["message"] == "x"
    assert set(report.headers) == {
        "execId", "taskId", "workspaceId", "containerId", "userId", "stepId", "compId",
        "function", "messageId", "tenantId"}
    assert report.headers["function"] == "fails_init"
    assert report.headers["tenantId"] == "tenant-1"
    assert report.properties.delivery_mode == 1
    assert report.properties.message_id is None
