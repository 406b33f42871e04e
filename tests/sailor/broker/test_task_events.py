"""Events beyond data/error: passthrough, rebound, snapshot, updateKeys and httpReply."""

from __future__ import annotations

import json

import pytest

from tests.support.platform_sim import API_KEY, API_USERNAME, DEFAULT_STEP_DATA, PlatformSim

pytestmark = pytest.mark.broker


def make_sim(broker, **step_data):
    return PlatformSim(broker.url, step_data={**DEFAULT_STEP_DATA, **step_data})


def test_passthrough_adds_own_output(broker) -> None:
    sim = make_sim(broker, is_passthrough=True)
    try:
        p = {"headers": {}, "body": {"fromStep1": True}}
        sim.publish_input({"body": {"reply": {"body": {"out": 1}}}, "passthrough": {"step_1": p}})
        run = sim.start_sailor("const")
        [data] = sim.wait_published(1)
        assert run.stop() == 0
        assert data.decoded()["passthrough"] == {
            "step_1": p, "step_2": {"body": {"out": 1}, "headers": {}}}
    finally:
        sim.close()


def test_no_self_passthrough_adds_the_upstream_input(broker) -> None:
    sim = make_sim(broker, is_passthrough=True)
    try:
        p = {"headers": {}, "body": {"fromStep0": True}}
        incoming = {"body": {"reply": {"body": {"out": 1}}}, "passthrough": {"step_0": p}}
        sim.publish_input(incoming, stepId="step_1")
        run = sim.start_sailor("const", ELASTICIO_NO_SELF_PASSTRHOUGH="true")
        [data] = sim.wait_published(1)
        assert run.stop() == 0
        assert data.decoded()["passthrough"] == {
            "step_0": p, "step_1": {"body": incoming["body"], "headers": {}}}
    finally:
        sim.close()


def test_first_rebound_republishes_the_input_with_iteration_1(sim) -> None:
    headers = sim.publish_input({"body": {"emit": [["rebound", {"message": "busy"}], ["end"]]}})
    run = sim.start_sailor("scripted", ELASTICIO_REBOUND_INITIAL_EXPIRATION="1000")
    [rebound] = sim.wait_published(1)
    assert run.stop() == 0
    assert rebound.routing_key == sim.routing_keys["rebound"]
    assert rebound.properties.expiration == "1000"
    assert rebound.headers["reboundIteration"] == 1
    assert rebound.headers["reboundReason"] == "busy"
    assert isinstance(rebound.headers["end"], int)
    for name, value in headers.items():
        assert rebound.headers[name] == value
    assert rebound.decoded()["body"]["emit"][0][0] == "rebound"
    assert sim.input_depth() == 0
    assert sim.rejected_count() == 0


def test_rebound_expiration_doubles_per_iteration(sim) -> None:
    sim.publish_input({"body": {"emit": [["rebound", "again"]]}}, reboundIteration=2)
    run = sim.start_sailor("scripted", ELASTICIO_REBOUND_INITIAL_EXPIRATION="1000")
    [rebound] = sim.wait_published(1)
    assert run.stop() == 0
    assert rebound.headers["reboundIteration"] == 3
    assert rebound.properties.expiration == "4000"


def test_the_component_sees_its_rebounds_and_the_platforms_rules(sim) -> None:
    """self.rebounds: the input's reboundIteration and what the next rebound would be."""
    sim.publish_input({"body": {"emit": [["data", "$rebounds"]]}}, reboundIteration=2)
    sim.publish_input({"body": {"emit": [["data", "$rebounds"]]}})
    run = sim.start_sailor("scripted", ELASTICIO_REBOUND_INITIAL_EXPIRATION="1000",
                           ELASTICIO_REBOUND_LIMIT="5")
    first, second = sim.wait_published(2)
    assert run.stop() == 0
    assert first.decoded()["body"]["rebounds"] == {
        "done": 2, "next": 3, "limit": 5, "next_delay_ms": 4000}
    assert second.decoded()["body"]["rebounds"] == {
        "done": 0, "next": 1, "limit": 5, "next_delay_ms": 1000}


def test_rebound_above_limit_is_an_uncounted_error(sim) -> None:
    sim.publish_input({"body": {"emit": [["rebound", "again"]]}}, reboundIteration=2)
    run = sim.start_sailor("scripted", ELASTICIO_REBOUND_LIMIT="2")
    [error] = sim.wait_published(1)
    assert run.stop() == 0
    assert error.routing_key == sim.routing_keys["error"]
    assert error.envelope()["error"]["message"] == "Rebound limit exceeded"
    assert "errorInput" in error.envelope()
    assert "end" not in error.headers
    assert sim.input_depth() == 0
    assert sim.rejected_count() == 0


def test_snapshot_carried_across_messages(broker) -> None:
    sim = make_sim(broker, snapshot={"counter": 5})
    try:
        sim.publish_input({"body": {"emit": [
            ["data", "$snapshot"],
            ["snapshot", {"counter": 6}],
            ["updateSnapshot", {"lastSeen": 1}]]}})
        sim.publish_input({"body": {"emit": [["data", "$snapshot"]]}})
        run = sim.start_sailor("scripted")
        sim.wait_published(4)
        assert run.stop() == 0
        snapshots = sim.published_to("snapshot")
        assert [json.loads(s.body) for s in snapshots] == [{"counter": 6}, {"lastSeen": 1}]
        assert [s.headers["snapshotEvent"] for s in snapshots] == ["snapshot", "updateSnapshot"]
        assert all("end" not in s.headers and "protocolVersion" not in s.headers
                   for s in snapshots)
        seen = [d.decoded()["body"]["snapshot"] for d in sim.published_to("data")]
        assert seen == [{"counter": 5}, {"counter": 6, "lastSeen": 1}]
    finally:
        sim.close()


def test_update_snapshot_with_set_is_ignored(sim) -> None:
    sim.publish_input({"body": {"emit": [["updateSnapshot", {"$set": {"a": 1}}],
                                         ["data", {"body": {}}]]}})
    run = sim.start_sailor("scripted")
    sim.wait_published(1)
    assert run.stop() == 0
    assert sim.published_to("snapshot") == []


def test_update_keys_puts_the_account_keys(sim) -> None:
    sim.publish_input({"body": {"emit": [["updateKeys", {"oauth": {"t": 1}}], ["end"]]}})
    run = sim.start_sailor("scripted")
    assert sim.wait_until(lambda: any(r.method == "PUT" for r in sim.api.requests))
    assert sim.wait_until(lambda: sim.input_depth() == 0)
    assert run.stop() == 0
    [put] = [r for r in sim.api.requests if r.method == "PUT"]
    assert put.path == "/v1/accounts/acc-42"
    assert put.json() == {"keys": {"oauth": {"t": 1}}}
    assert put.basic_auth() == f"{API_USERNAME}:{API_KEY}"
    assert sim.rejected_count() == 0


def test_http_reply_goes_to_reply_to_as_base64(sim) -> None:
    reply = {"statusCode": 201, "headers": {"x-a": "b"}, "body": "created"}
    sim.publish_input({"body": {"emit": [["httpReply", reply], ["data", {"body": {}}]]}},
                      reply_to="reply-key-39")
    run = sim.start_sailor("scripted")
    sim.wait_published(2)
    assert run.stop() == 0
    [http] = sim.published_to("reply-key-39")
    assert json.loads(sim.cipher.decrypt_b64(http.body)) == reply
    assert http.headers["protocolVersion"] == 1
    assert "end" not in http.headers
    [data] = sim.published_to("data")
    assert data.headers["reply_to"] == "reply-key-39"
