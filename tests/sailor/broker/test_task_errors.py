"""Errors and acknowledgement (docs/protocol.md#settlement,
docs/protocol.md#error-messages)."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.broker

COMMON_WITH_END = {
    "stepId", "threadId", "messageId", "parentMessageId", "execId", "taskId", "workspaceId",
    "containerId", "userId", "compId", "function", "start", "end"}


def test_async_process_that_raises_publishes_an_error_and_rejects(sim) -> None:
    payload = {"headers": {}, "body": {"greeting": "this will fail"}}
    sim.publish_input(payload)
    run = sim.start_sailor("fail")
    [error] = sim.wait_published(1)
    assert sim.wait_until(lambda: sim.rejected_count() == 1)
    assert run.stop() == 0
    assert error.routing_key == sim.routing_keys["error"]
    assert list(json.loads(error.body)) == ["error", "errorInput"]
    envelope = error.envelope()
    assert envelope["error"]["name"] == "TypeError"
    assert envelope["error"]["message"] == "Failure on purpose"
    assert isinstance(envelope["error"]["stack"], str)
    assert "Failure on purpose" in envelope["error"]["stack"]
    assert envelope["errorInput"] == payload
    assert set(error.headers) == COMMON_WITH_END
    assert sim.input_depth() == 0
    records = run.records()
    assert any(r.get("msg") == "Error occurred during trigger or action processing"
               and r.get("name") == "component" for r in records)
    assert "this will fail" not in run.output()


def test_error_input_of_a_v2_input_is_base64(sim) -> None:
    payload = {"headers": {}, "body": {"greeting": "v2 failing input"}}
    sim.publish_input(payload, protocolVersion=2)
    run = sim.start_sailor("fail")
    [error] = sim.wait_published(1)
    assert run.stop() == 0
    wire = json.loads(error.body)
    assert json.loads(sim.cipher.decrypt_b64(wire["errorInput"])) == payload
    assert "protocolVersion" not in error.headers


@pytest.mark.parametrize("no_error_replies", [None, "true"])
def test_error_reply_goes_to_reply_to_unless_disabled(sim, no_error_replies: str | None) -> None:
    sim.publish_input({"body": {}}, reply_to="reply-key-29")
    run = sim.start_sailor("fail", ELASTICIO_NO_ERROR_REPLIES=no_error_replies)
    expected = 1 if no_error_replies else 2
    sim.wait_published(expected)
    assert sim.wait_until(lambda: sim.rejected_count() == 1)
    assert run.stop() == 0
    replies = sim.published_to("reply-key-29")
    assert len(sim.published_to("error")) == 1
    if no_error_replies:
        assert replies == []
        return
    [reply] = replies
    error = json.loads(sim.cipher.decrypt_b64(reply.body))
    assert error["name"] == "TypeError"
    assert error["message"] == "Failure on purpose"
    assert reply.headers["x-eio-error-response"] is True
    assert reply.headers["reply_to"] == "reply-key-29"
    assert sim.published_to("error")[0].headers["reply_to"] == "reply-key-29"


@pytest.mark.parametrize("sync", [False, True])
def test_error_then_data_then_end_rejects(sim, sync: bool) -> None:
    sim.publish_input({"body": {"sync": sync, "emit": [
        ["error", {"message": "first"}], ["data", {"body": {"d": 1}}], ["end"]]}})
    run = sim.start_sailor("scripted")
    sim.wait_published(2)
    assert sim.wait_until(lambda: sim.rejected_count() == 1)
    assert run.stop() == 0
    assert len(sim.published_to("error")) == 1
    assert len(sim.published_to("data")) == 1
    assert sim.published_to("error")[0].envelope()["error"]["message"] == "first"
    assert sim.input_depth() == 0


def test_end_twice_settles_once(sim) -> None:
    sim.publish_input({"body": {"emit": [["end"], ["end"]]}})
    sim.publish_input({"body": {"emit": [["data", {"body": {"next": True}}]]}})
    run = sim.start_sailor("scripted")
    sim.wait_published(1)
    assert run.stop() == 0
    assert sim.input_depth() == 0
    assert sim.rejected_count() == 0
    warnings = [r for r in run.records()
                if r.get("msg") == "processMessage emit end was called more than once"]
    assert warnings
    assert all(r["level"] == 40 for r in warnings)


def test_missing_process_function_is_an_error(sim) -> None:
    sim.publish_input({"body": {}})
    run = sim.start_sailor("no_process")
    [error] = sim.wait_published(1)
    assert sim.wait_until(lambda: sim.rejected_count() == 1)
    assert run.stop() == 0
    assert error.envelope()["error"]["message"] == "Process function is not found"
    assert error.envelope()["error"]["name"] == "Error"
