"""Lightweight messages (docs/protocol.md#object-storage), against a local HTTP
server playing the object storage ("maester") under ``<api>/maester``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from elasticio_sailor.jsvalues import stringify

from tests.support.platform_sim import COMPONENTS, DEFAULT_STEP_DATA, FLOW_ID, STEP_ID, PlatformSim

pytestmark = pytest.mark.broker

COMPONENT = COMPONENTS / "object_storage"
TOKEN = "maester-jwt-token-SECRET"
OBJECT_ID = "x-ipaas-object-storage-id"
REQUEST_ID = f"f:{FLOW_ID};s:{STEP_ID};m:"


def storage_env(sim: PlatformSim, **overrides: str) -> dict[str, str]:
    return {
        "ELASTICIO_OBJECT_STORAGE_URI": sim.api.url + "/maester",
        "ELASTICIO_OBJECT_STORAGE_TOKEN": TOKEN,
        **overrides,
    }


def store(sim: PlatformSim, object_id: str, body: Any) -> None:
    """Put ``body`` into the fake storage as Node's client stores it: raw ciphertext."""
    sim.api.answer("GET", f"/maester/objects/{object_id}",
                   (200, sim.cipher.encrypt(stringify(body))))


def storage_requests(sim: PlatformSim) -> list[Any]:
    return [r for r in sim.api.requests if r.path.startswith("/maester/")]


def set_step_data(sim: PlatformSim, **fields: Any) -> None:
    sim.api.answer("GET", f"/v1/tasks/{FLOW_ID}/steps/{STEP_ID}",
                   (200, {**DEFAULT_STEP_DATA, **fields}))


def test_incoming_body_is_fetched_before_process(sim) -> None:
    stored = {"storedBody": "fetched from object storage"}
    store(sim, "incoming-obj-1", stored)
    sim.publish_input({"headers": {OBJECT_ID: "incoming-obj-1"}, "body": {}})
    run = sim.start_sailor("echo", cwd=COMPONENT, LOG_LEVEL="trace", **storage_env(sim))
    [data] = sim.wait_published(1)
    assert run.stop() == 0
    received = data.decoded()["body"]["received"]
    assert received["body"] == stored
    assert received["headers"] == {OBJECT_ID: "incoming-obj-1"}
    [get] = storage_requests(sim)
    assert (get.method, get.path) == ("GET", "/maester/objects/incoming-obj-1")
    assert get.headers["authorization"] == f"Bearer {TOKEN}"
    assert get.headers["x-request-id"] == REQUEST_ID
    assert sim.input_depth() == 0
    assert sim.rejected_count() == 0
    assert TOKEN not in run.output()
    assert "***" not in run.output()  # nothing even tried to log it


def test_passthrough_bodies_are_fetched_too(sim) -> None:
    set_step_data(sim, is_passthrough=True)
    store(sim, "pt-obj", {"fromStep1": True})
    passthrough = {"step_1": {"headers": {OBJECT_ID: "pt-obj"}, "body": {}}}
    sim.publish_input({"body": {"plain": 1}, "passthrough": passthrough})
    run = sim.start_sailor("echo", cwd=COMPONENT, **storage_env(sim))
    [data] = sim.wait_published(1)
    assert run.stop() == 0
    received = data.decoded()["body"]["received"]
    assert received["body"] == {"plain": 1}
    assert received["passthrough"]["step_1"] == {
        "headers": {OBJECT_ID: "pt-obj"}, "body": {"fromStep1": True}}
    assert [r.path for r in storage_requests(sim)] == ["/maester/objects/pt-obj"]


def test_not_resolved_when_the_definition_says_false(sim) -> None:
    sim.publish_input({"headers": {OBJECT_ID: "incoming-obj-1"}, "body": {}})
    run = sim.start_sailor("echo_unresolved", cwd=COMPONENT, **storage_env(sim))
    [data] = sim.wait_published(1)
    assert run.stop() == 0
    assert data.decoded()["body"]["received"]["body"] == {}
    assert storage_requests(sim) == []


@pytest.mark.parametrize(("status", "attempts"), [(500, 3), (404, 1)])
def test_failed_fetch_rejects_without_calling_process(sim, status, attempts) -> None:
    sim.api.answer("GET", "/maester/objects/gone", (status, {"error": "nope"}))
    payload = {"headers": {OBJECT_ID: "gone"}, "body": {}}
    sim.publish_input(payload, reply_to="reply-key")
    run = sim.start_sailor("echo", cwd=COMPONENT, **storage_env(sim))
    assert sim.wait_until(lambda: sim.rejected_count() == 1)
    sim.wait_published(2)
    assert run.stop() == 0
    [error] = sim.published_to("error")
    envelope = error.envelope()
    assert envelope["error"]["message"] == "Failed to get message body with id=gone"
    assert envelope["error"]["name"] == "Error"
    assert envelope["errorInput"] == payload
    assert "end" in error.headers
    assert sim.published_to("data") == []  # process (an echo) never ran
    assert len(sim.published_to("reply-key")) == 1  # the usual error reply
    assert len(storage_requests(sim)) == attempts


def test_large_output_is_uploaded_and_sent_as_a_reference(sim) -> None:
    sim.api.answer("POST", "/maester/objects", (200, {"objectId": "obj-1"}))
    body = {"text": "larger than ten bytes"}
    sim.publish_input({"body": {"reply": {"body": body}}})
    run = sim.start_sailor("reply", cwd=COMPONENT, **storage_env(
        sim, ELASTICIO_EMIT_LIGHTWEIGHT_MESSAGE="true",
        ELASTICIO_OBJECT_STORAGE_SIZE_THRESHOLD="10"))
    [data] = sim.wait_published(1)
    assert run.stop() == 0
    assert sim.cipher.decode_frame(data.body, 1) == (
        '{"body":{},"headers":{"x-ipaas-object-storage-id":"obj-1"}}')
    [post] = storage_requests(sim)
    assert (post.method, post.path) == ("POST", "/maester/objects")
    assert post.headers["authorization"] == f"Bearer {TOKEN}"
    assert post.headers["x-request-id"] == REQUEST_ID
    assert post.headers["content-type"] == "application/json"
    assert post.body == sim.cipher.encrypt(stringify(body))  # raw ciphertext, no base64
    assert sim.input_depth() == 0
    assert sim.rejected_count() == 0


def test_small_output_is_sent_inline(sim) -> None:
    sim.publish_input({"body": {"reply": {"body": {"a": 1}}}})
    run = sim.start_sailor("reply", cwd=COMPONENT, **storage_env(
        sim, ELASTICIO_EMIT_LIGHTWEIGHT_MESSAGE="true",
        ELASTICIO_OBJECT_STORAGE_SIZE_THRESHOLD="100"))
    [data] = sim.wait_published(1)
    assert run.stop() == 0
    assert data.decoded() == {"body": {"a": 1}, "headers": {}}
    assert storage_requests(sim) == []


@pytest.mark.parametrize("status", [500, 400])
def test_upload_failure_is_an_error_and_no_data(sim, status) -> None:
    sim.api.answer("POST", "/maester/objects", (status, {"error": "full"}))
    sim.publish_input({"body": {"reply": {"body": {"text": "larger than ten bytes"}}}})
    run = sim.start_sailor("reply", cwd=COMPONENT, **storage_env(
        sim, ELASTICIO_EMIT_LIGHTWEIGHT_MESSAGE="true",
        ELASTICIO_OBJECT_STORAGE_SIZE_THRESHOLD="10"))
    [error] = sim.wait_published(1)
    assert sim.wait_until(lambda: sim.rejected_count() == 1)
    assert run.stop() == 0
    assert error.routing_key == sim.routing_keys["error"]
    assert error.envelope()["error"]["message"] == (
        "Lightweight message/passthrough body upload error")
    assert sim.published_to("data") == []
    assert len(storage_requests(sim)) == (3 if status == 500 else 1)


def test_passthrough_reuses_object_ids_and_self_entry_holds_the_reference(sim) -> None:
    set_step_data(sim, is_passthrough=True)
    store(sim, "pt-obj", {"fromStep1": "x" * 20})
    sim.api.answer("POST", "/maester/objects", (200, {"objectId": "obj-out"}))
    passthrough = {"step_1": {"headers": {OBJECT_ID: "pt-obj"}, "body": {}}}
    sim.publish_input({"body": {"reply": {"body": {"out": "y" * 20}}},
                       "passthrough": passthrough})
    run = sim.start_sailor("reply", cwd=COMPONENT, **storage_env(
        sim, ELASTICIO_EMIT_LIGHTWEIGHT_MESSAGE="true",
        ELASTICIO_OBJECT_STORAGE_SIZE_THRESHOLD="10"))
    [data] = sim.wait_published(1)
    assert run.stop() == 0
    reference = {"body": {}, "headers": {OBJECT_ID: "obj-out"}}
    assert data.decoded() == {
        **reference,
        "passthrough": {
            "step_1": {"headers": {OBJECT_ID: "pt-obj"}, "body": {}},
            STEP_ID: reference,
        },
    }
    posts = [r for r in storage_requests(sim) if r.method == "POST"]
    assert len(posts) == 1  # step_1's body already had an object: not uploaded again
    assert json.loads(sim.cipher.decrypt(posts[0].body)) == {"out": "y" * 20}


def test_lightweight_off_inlines_passthrough_references(sim) -> None:
    set_step_data(sim, is_passthrough=True)
    store(sim, "pt-obj", {"fromStep1": True})
    passthrough = {"step_1": {"headers": {OBJECT_ID: "pt-obj"}, "body": {}}}
    sim.publish_input({"body": {"reply": {"body": {"out": 1}}}, "passthrough": passthrough})
    run = sim.start_sailor("echo_unresolved", cwd=COMPONENT, **storage_env(sim))
    [data] = sim.wait_published(1)
    assert run.stop() == 0
    assert data.decoded()["passthrough"]["step_1"] == {
        "headers": {OBJECT_ID: "pt-obj"}, "body": {"fromStep1": True}}


def test_a_body_over_the_cap_is_refused_and_the_log_says_why(sim) -> None:
    store(sim, "big-obj", {"text": "x" * 500})
    payload = {"headers": {OBJECT_ID: "big-obj"}, "body": {}}
    sim.publish_input(payload)
    run = sim.start_sailor("echo", cwd=COMPONENT, **storage_env(
        sim, ELASTICIO_OBJECT_STORAGE_BODY_SIZE_LIMIT="100"))
    assert sim.wait_until(lambda: sim.rejected_count() == 1)
    sim.wait_published(1)
    assert run.stop() == 0
    [error] = sim.published_to("error")
    assert error.envelope()["error"]["message"] == "Failed to get message body with id=big-obj"
    assert sim.published_to("data") == []
    assert len(storage_requests(sim)) == 1  # not repeated
    assert ("message body big-obj is larger than the limit of 100 bytes (set "
            "ELASTICIO_OBJECT_STORAGE_BODY_SIZE_LIMIT" in run.output())
