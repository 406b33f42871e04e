"""Data messages (docs/protocol.md#data-messages)."""

from __future__ import annotations

import base64
import json

import pytest

pytestmark = pytest.mark.broker


@pytest.mark.parametrize("event_loop", ["uvloop", "asyncio"])
def test_echo_publishes_one_base64_data_message(sim, event_loop) -> None:
    sim.publish_input({"body": {}})
    run = sim.start_sailor("const", SAILOR_EVENT_LOOP=event_loop)
    [data] = sim.wait_published(1)
    assert run.stop() == 0
    assert data.routing_key == sim.routing_keys["data"]
    assert data.properties.content_type == "application/json"
    assert data.properties.content_encoding == "utf8"
    assert data.properties.delivery_mode == 1
    assert data.properties.message_id is None
    text = data.body.decode("ascii")
    assert sim.cipher.decrypt(base64.b64decode(text, validate=True)) == (
        '{"body":{"x":1},"headers":{}}')
    assert sim.input_depth() == 0
    assert sim.rejected_count() == 0


def test_protocol_version_2_output_is_raw(sim) -> None:
    sim.publish_input({"body": {}})
    run = sim.start_sailor("const", ELASTICIO_PROTOCOL_VERSION="2")
    [data] = sim.wait_published(1)
    assert run.stop() == 0
    assert data.headers["protocolVersion"] == 2
    assert json.loads(sim.cipher.decrypt(data.body)) == {"body": {"x": 1}, "headers": {}}


def test_persistent_messages_setting_sets_delivery_mode_2(sim) -> None:
    sim.publish_input({"body": {}})
    run = sim.start_sailor("const", ELASTICIO_AMQP_PERSISTENT_MESSAGES="true")
    [data] = sim.wait_published(1)
    assert run.stop() == 0
    assert data.properties.delivery_mode == 2


def test_routing_key_from_message_headers(sim) -> None:
    reply = {"body": {"y": 2}, "headers": {"X-EIO-Routing-Key": "custom-key", "x-kept": "v"}}
    sim.publish_input({"body": {"reply": reply}})
    run = sim.start_sailor("const")
    [data] = sim.wait_published(1)
    assert run.stop() == 0
    assert data.routing_key == "custom-key"
    assert data.decoded() == {"body": {"y": 2}, "headers": {"x-kept": "v"}}


def test_output_above_size_limit_becomes_an_error(sim) -> None:
    payload = {"body": {"greeting": "too big once echoed"}}
    sim.publish_input(payload)
    run = sim.start_sailor("echo", ELASTICIO_OUTGOING_MESSAGE_SIZE_LIMIT="100")
    [error] = sim.wait_published(1)
    assert sim.wait_until(lambda: sim.rejected_count() == 1)
    assert run.stop() == 0
    assert error.routing_key == sim.routing_keys["error"]
    envelope = error.envelope()
    assert envelope["error"]["name"] == "Error"
    assert envelope["error"]["message"].startswith("Outgoing message size ")
    assert envelope["error"]["message"].endswith(" exceeds limit of 100.")
    assert envelope["errorInput"] == payload
    assert sim.published_to("data") == []


@pytest.mark.parametrize("falsy", [False, 0, "", None])
def test_falsy_result_ends_without_data(sim, falsy) -> None:
    """docs/protocol.md#result-handling: only a truthy result (JavaScript's sense) becomes a data
    message."""
    sim.publish_input({"body": {"reply": falsy}})
    sim.publish_input({"body": {}})
    run = sim.start_sailor("const")
    [data] = sim.wait_published(1)
    assert sim.wait_until(lambda: sim.input_depth() == 0)
    assert run.stop() == 0
    assert data.decoded() == {"body": {"x": 1}, "headers": {}}
    assert sim.published_until_now() == [data]
    assert sim.rejected_count() == 0
