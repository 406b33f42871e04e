"""Decoding of incoming messages (docs/protocol.md#decoding)."""

from __future__ import annotations

import pytest

from tests.support.platform_sim import PlatformSim

pytestmark = pytest.mark.broker


def received(sim: PlatformSim) -> dict:
    [data] = sim.wait_published(1)
    return data.decoded()["body"]["received"]


def test_protocol_v1_base64_input_is_decoded(sim) -> None:
    sim.publish_input({"body": {"a": 1}})
    run = sim.start_sailor("echo")
    assert received(sim) == {"body": {"a": 1}, "headers": {}}
    assert run.stop() == 0
    assert sim.input_depth() == 0
    assert sim.rejected_count() == 0


def test_protocol_v2_raw_input_is_decoded(sim) -> None:
    sim.publish_input({"body": {"a": 1}}, protocolVersion=2)
    run = sim.start_sailor("echo")
    assert received(sim) == {"body": {"a": 1}, "headers": {}}
    assert run.stop() == 0


def test_undecryptable_input_is_rejected(sim) -> None:
    sim.publish_raw(b"this is not base64 ciphertext", sim.input_headers())
    sim.publish_input({"body": {"after": True}})
    run = sim.start_sailor("echo")
    # The sailor keeps running: the next message is processed normally.
    assert received(sim) == {"body": {"after": True}, "headers": {}}
    assert run.stop() == 0
    assert len(sim.published_until_now()) == 1
    assert sim.rejected_count() == 1
    assert "this is not base64" not in run.output()


def test_reply_to_is_copied_into_message_headers(sim) -> None:
    sim.publish_input({"body": {}, "headers": {"h": "v"}}, reply_to="R")
    run = sim.start_sailor("echo")
    assert received(sim)["headers"] == {"h": "v", "reply_to": "R"}
    assert run.stop() == 0


def test_input_format_error_decodes_the_error_envelope(sim) -> None:
    error = {"name": "Error", "message": "upstream failed", "stack": "s"}
    error_input = {"body": {"orig": 1}, "headers": {}}
    headers = sim.input_headers()
    sim.publish_raw(sim.error_envelope_body(error, error_input), headers)
    run = sim.start_sailor("echo", ELASTICIO_INPUT_FORMAT="error")
    msg = received(sim)
    assert msg["body"] == {"error": error, "errorInput": error_input}
    assert msg["headers"] == headers
    assert run.stop() == 0
