"""Logging in task mode (docs/protocol.md#logging): every stdout line is a bunyan record
with the context fields; the component logger inside `process` carries the message's ids."""

from __future__ import annotations

import json

import pytest

from tests.support.recording_server import COMPONENTS

CORE = {"name", "hostname", "pid", "level", "msg", "time", "v"}


@pytest.mark.broker
def test_task_mode_log_records_are_bunyan_json_with_message_context(broker):
    from tests.support.platform_sim import FLOW_ID, STEP_ID, PlatformSim

    sim = PlatformSim(broker.url)
    try:
        run = sim.start_sailor("logs", cwd=COMPONENTS / "log_task", ELASTICIO_TENANT_ID="tenant-1")
        headers = sim.publish_input({"body": {}})
        assert len(sim.wait_published(1)) == 1
        assert run.stop() == 0
    finally:
        sim.close()
    records = [json.loads(line) for line in run.output().splitlines()]
    assert records
    for record in records:
        assert set(record) >= CORE
        assert record["v"] == 0
        assert record["ELASTICIO_FLOW_ID"] == FLOW_ID
        assert record["ELASTICIO_STEP_ID"] == STEP_ID
        assert record["ELASTICIO_FUNCTION"] == "logs"
        assert record["ELASTICIO_TENANT_ID"] == "tenant-1"
        assert record["tag"] == FLOW_ID
        assert "ELASTICIO_API_KEY" not in record
        assert "ELASTICIO_AMQP_URI" not in record
    (component,) = [r for r in records if r["name"] == "component"]
    assert component["msg"] == 'Processing message with 2 keys {"n":1}'
    assert component["level"] == 30
    assert component["threadId"] == headers["threadId"]
    assert component["messageId"] == headers["messageId"]
    assert component["parentMessageId"] == headers["parentMessageId"]
