"""Reliability on the real broker: SIGTERM with several messages in flight
(docs/protocol.md#shutdown) and inputs that cannot be decoded (docs/protocol.md#decoding): rejected,
logged, and the sailor keeps going."""

from __future__ import annotations

import pytest

from tests.support.platform_sim import LEFT_AFTER_GRACE

pytestmark = pytest.mark.broker

DECODE_FAILURE = "Failed to decode the incoming message; rejecting it"
SECRET_TEXT = "plaintext-marker-SECRET"


def test_sigterm_with_n_messages_in_flight(sim) -> None:
    """Prefetch 4, 7 queued: the 4 in `process` finish, are published and acked, the
    process exits 0, and the 3 never delivered stay in the queue."""
    total, prefetch = 7, 4
    for i in range(total):
        sim.publish_input({"body": {"i": i, "sleep": 1.0}})
    run = sim.start_sailor("slow", ELASTICIO_RABBITMQ_PREFETCH_SAILOR=str(prefetch))
    assert sim.wait_until(lambda: sim.input_depth() == total - prefetch)
    run.terminate()
    assert run.wait() == 0
    assert not any(m.startswith(LEFT_AFTER_GRACE) for m in run.messages())
    assert len(sim.published_until_now()) == prefetch
    outputs = sorted(p.decoded()["body"]["i"] for p in sim.published_to("data"))
    assert outputs == list(range(prefetch))
    assert sim.input_depth() == total - prefetch  # not taken, and nothing requeued
    assert sim.rejected_count() == 0
    messages = [r.get("msg") for r in run.records()]
    assert messages.index("Received SIGTERM") < messages.index("Successfully disconnected")


def bad_inputs(sim) -> dict[str, tuple[bytes, dict]]:
    """name -> (AMQP body, headers) of inputs no sailor can decode."""
    v1 = sim.cipher.encode_frame(f'{{"body": {{"text": "{SECRET_TEXT}"}}}}', 1)
    v2 = sim.cipher.encode_frame(f'{{"body": {{"text": "{SECRET_TEXT}"}}}}', 2)
    headers = sim.input_headers
    return {
        "undecryptable": (b"this is not base64 ciphertext", headers()),
        "truncated": (v1[: len(v1) // 2], headers()),
        "truncated_raw": (v2[:-16], headers(protocolVersion=2)),
        "non_json": (sim.cipher.encode_frame(f"not json {SECRET_TEXT}", 1), headers()),
        "json_not_an_object": (sim.cipher.encode_frame("[1, 2, 3]", 1), headers()),
        "v1_body_labelled_v2": (v1, headers(protocolVersion=2)),
        "v2_body_labelled_v1": (v2, headers(protocolVersion=1)),
        "unknown_protocol_version": (v1, headers(protocolVersion=7)),
        "empty": (b"", headers()),
    }


def test_undecodable_inputs_are_rejected_and_the_sailor_keeps_running(sim) -> None:
    bad = bad_inputs(sim)
    run = sim.start_sailor("echo")
    for body, headers in bad.values():
        sim.publish_raw(body, headers)
    sim.publish_input({"body": {"good": True}})
    [data] = sim.wait_published(1)
    assert data.decoded()["body"]["received"]["body"] == {"good": True}
    assert sim.wait_until(lambda: sim.rejected_count() == len(bad))
    assert run.process.poll() is None  # still running
    sim.publish_input({"body": {"good": 2}})
    assert len(sim.wait_published(2)) == 2
    assert run.stop() == 0
    assert len(sim.published_until_now()) == 2  # nothing published for the bad ones
    assert sim.input_depth() == 0
    records = run.records()
    failures = [r for r in records if r.get("msg") == DECODE_FAILURE]
    assert len(failures) == len(bad)
    assert all(r["level"] == 50 and r.get("messageId") for r in failures)
    assert SECRET_TEXT not in run.output()
