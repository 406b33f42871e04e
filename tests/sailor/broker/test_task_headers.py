"""Outgoing headers on the wire (docs/protocol.md#common-headers)."""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.broker


def is_uuid4(value: str) -> bool:
    return uuid.UUID(value).version == 4


def test_data_message_headers(sim) -> None:
    sim.publish_input({"body": {}}, threadId="T", messageId="M", stepId="step_1",
                      **{"X-EIO-Meta-Tenant": "t", "someOther": "x", "compId": "u"})
    run = sim.start_sailor("const")
    [data] = sim.wait_published(1)
    assert run.stop() == 0
    headers = data.headers
    env = sim.env("const")
    assert headers["threadId"] == "T"
    assert headers["parentMessageId"] == "M"
    assert headers["messageId"] != "M"
    assert is_uuid4(headers["messageId"])
    assert headers["stepId"] == env["ELASTICIO_STEP_ID"]
    assert headers["x-eio-meta-tenant"] == "t"
    assert headers["compId"] == env["ELASTICIO_COMP_ID"]
    assert headers["function"] == "const"
    assert headers["execId"] == env["ELASTICIO_EXEC_ID"]
    assert headers["taskId"] == env["ELASTICIO_FLOW_ID"]
    assert headers["workspaceId"] == env["ELASTICIO_WORKSPACE_ID"]
    assert headers["containerId"] == env["ELASTICIO_CONTAINER_ID"]
    assert headers["userId"] == env["ELASTICIO_USER_ID"]
    assert isinstance(headers["start"], int)
    assert isinstance(headers["end"], int)
    assert headers["start"] <= headers["end"]
    assert headers["protocolVersion"] == 1
    assert isinstance(headers["protocolVersion"], int)
    assert "someOther" not in headers


def test_thread_id_falls_back_to_trace_id_then_a_new_uuid(sim) -> None:
    sim.publish_input({"body": {}}, threadId=None, **{"x-eio-meta-trace-id": "Z"})
    sim.publish_input({"body": {}}, threadId=None)
    run = sim.start_sailor("const")
    first, second = sim.wait_published(2)
    assert run.stop() == 0
    assert first.headers["threadId"] == "Z"
    assert is_uuid4(second.headers["threadId"])


def test_additional_vars_become_camel_case_headers(sim) -> None:
    sim.publish_input({"body": {}})
    run = sim.start_sailor(
        "const",
        ELASTICIO_ADDITIONAL_VARS_FOR_HEADERS=(
            "ELASTICIO_TENANT_ID, ELASTICIO_FLOW_VERSION,ELASTICIO_NOT_SET"),
        ELASTICIO_TENANT_ID="tenant-xyz",
        ELASTICIO_FLOW_VERSION="17",
    )
    [data] = sim.wait_published(1)
    assert run.stop() == 0
    assert data.headers["tenantId"] == "tenant-xyz"
    assert data.headers["flowVersion"] == "17"
    assert "notSet" not in data.headers


def test_message_id_shared_or_from_payload_id(sim) -> None:
    sim.publish_input({"body": {"emit": [
        ["data", {"body": {"n": 1}}],
        ["data", {"body": {"n": 2}}],
        ["data", {"id": "abc", "body": {"n": 3}}],
    ]}})
    run = sim.start_sailor("scripted")
    first, second, third = sim.wait_published(3)
    assert run.stop() == 0
    assert first.headers["messageId"] == second.headers["messageId"]
    assert third.headers["messageId"] == "abc"


def test_published_messages_carry_no_cid_header(sim) -> None:
    sim.publish_input({"body": {"emit": [["data", {"body": {}}], ["error", "e"]]}})
    run = sim.start_sailor("scripted")
    published = sim.wait_published(2)
    assert run.stop() == 0
    assert all("cid" not in p.headers for p in published)
