"""Outgoing header rules (docs/protocol.md#common-headers)."""

from __future__ import annotations

import uuid

from elasticio_sailor.headers import (
    common_headers,
    init_error_headers,
    pop_routing_key,
    protocol_version_of,
    read_incoming,
)
from elasticio_sailor.settings import load_task_settings

from tests.sailor.test_settings import std_env


def settings(**overrides: str):
    return load_task_settings(std_env(**overrides))


def is_uuid4(value: str) -> bool:
    return uuid.UUID(value).version == 4


def test_common_headers_follow_the_capture() -> None:
    incoming = read_incoming({
        "threadId": "T", "messageId": "M", "parentMessageId": "P", "stepId": "step_1",
        "X-EIO-Meta-Tenant": "t", "someOther": "x", "compId": "u", "protocolVersion": 1,
    })
    headers = common_headers(settings(), incoming, 123)
    assert headers["threadId"] == "T"
    assert headers["parentMessageId"] == "M"
    assert headers["messageId"] != "M"
    assert is_uuid4(headers["messageId"])
    assert headers["stepId"] == "value-step_id"
    assert headers["x-eio-meta-tenant"] == "t"
    assert headers["compId"] == "value-comp_id"
    assert headers["function"] == "value-function"
    assert headers["start"] == 123
    assert "someOther" not in headers
    assert "X-EIO-Meta-Tenant" not in headers
    assert "protocolVersion" not in headers
    assert "cid" not in headers
    assert set(headers) == {
        "stepId", "x-eio-meta-tenant", "threadId", "messageId", "parentMessageId", "execId",
        "taskId", "workspaceId", "containerId", "userId", "compId", "function", "start"}


def test_thread_id_falls_back_to_trace_id_then_uuid() -> None:
    assert read_incoming({"x-eio-meta-trace-id": "Z"}).thread_id == "Z"
    assert is_uuid4(read_incoming({}).thread_id)


def test_no_parent_when_incoming_has_no_message_id() -> None:
    headers = common_headers(settings(), read_incoming({}), 1)
    assert "parentMessageId" not in headers


def test_reply_to_and_additional_vars() -> None:
    s = settings(ELASTICIO_ADDITIONAL_VARS_FOR_HEADERS="ELASTICIO_TENANT_ID",
                 ELASTICIO_TENANT_ID="ten")
    headers = common_headers(s, read_incoming({"reply_to": "R"}), 1)
    assert headers["reply_to"] == "R"
    assert headers["tenantId"] == "ten"


def test_init_error_headers() -> None:
    s = settings(ELASTICIO_ADDITIONAL_VARS_FOR_HEADERS="ELASTICIO_TENANT_ID",
                 ELASTICIO_TENANT_ID="ten")
    headers = init_error_headers(s)
    assert set(headers) == {"tenantId", "execId", "taskId", "workspaceId", "containerId",
                            "userId", "stepId", "compId", "function", "messageId"}


def test_protocol_version_of() -> None:
    assert protocol_version_of({}) == 1
    assert protocol_version_of({"protocolVersion": 2}) == 2
    assert protocol_version_of({"protocolVersion": "2"}) == 2
    assert protocol_version_of({"protocolVersion": "junk"}) == 1


def test_pop_routing_key_is_case_insensitive() -> None:
    headers = {"X-EIO-Routing-Key": "k", "x-kept": "v"}
    assert pop_routing_key(headers) == "k"
    assert headers == {"x-kept": "v"}
