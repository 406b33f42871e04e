"""messageId deduplication (docs/protocol.md#deduplication,
docs/protocol.md#deviation-duplicate-deliveries)."""

from __future__ import annotations

import uuid

import pytest
from elasticio_sailor.dedup import Admission, DeliveryDedup

from tests.support.broker_faults import close_sailor_connections, wait_for_sailor_connections
from tests.support.platform_sim import LEFT_AFTER_GRACE

DUPLICATE_LINE = "Duplicate message detected"


def messages(run) -> list[str]:
    return [r.get("msg", "") for r in run.records()]


@pytest.mark.broker
def test_redelivered_copy_on_new_channel_is_settled_not_processed(
    sim, broker, tmp_path,
) -> None:
    """The read connection dies while the message is processed: the broker redelivers it
    on the new channel; that copy is held and acked when the original finishes."""
    message_id = str(uuid.uuid4())
    gate = tmp_path / "gate"
    sim.publish_input({"body": {"i": 1, "gate": str(gate)}}, messageId=message_id)
    run = sim.start_sailor("slow")
    assert sim.wait_until(lambda: sim.input_depth() == 0)  # delivered, not yet acked
    assert close_sailor_connections(broker, "read") == 1
    wait_for_sailor_connections(broker, ("read",))
    assert sim.wait_until(lambda: any(m.startswith(DUPLICATE_LINE) for m in messages(run)))
    gate.touch()  # the original may finish now
    [data] = sim.wait_published(1, timeout=10)
    assert data.decoded()["body"] == {"i": 1, "gate": str(gate), "slow": True}
    assert run.stop() == 0
    assert len(sim.published_until_now()) == 1
    assert sim.input_depth() == 0  # the copy was acked: nothing came back to the queue
    assert sim.rejected_count() == 0
    assert any(m.startswith(DUPLICATE_LINE) for m in messages(run))
    assert any(m == "Consuming again" for m in messages(run))


@pytest.mark.broker
def test_same_channel_duplicate_processed_once_both_settled(sim) -> None:
    """Node acks only one of the two deliveries and hangs on SIGTERM."""
    message_id = str(uuid.uuid4())
    for i in (1, 2):
        sim.publish_input({"body": {"i": i, "sleep": 1.0}}, messageId=message_id)
    run = sim.start_sailor("slow", ELASTICIO_RABBITMQ_PREFETCH_SAILOR="2")
    [data] = sim.wait_published(1, timeout=10)
    assert data.decoded()["body"]["i"] == 1
    assert run.stop() == 0
    # settled, not left hanging until the shutdown's grace period gives up on it
    assert not any(m.startswith(LEFT_AFTER_GRACE) for m in messages(run))
    assert len(sim.published_until_now()) == 1
    assert sim.input_depth() == 0  # both deliveries were acked
    assert sim.rejected_count() == 0
    assert sum(m.startswith(DUPLICATE_LINE) for m in messages(run)) == 1


@pytest.mark.broker
def test_same_channel_duplicate_of_a_failing_message_rejects_both(sim) -> None:
    message_id = str(uuid.uuid4())
    for _ in range(2):
        sim.publish_input({"body": {}}, messageId=message_id)
    run = sim.start_sailor("fail", ELASTICIO_RABBITMQ_PREFETCH_SAILOR="2")
    assert sim.wait_until(lambda: sim.rejected_count() == 2)
    assert run.stop() == 0
    assert len(sim.published_to("error")) == 1
    assert sim.input_depth() == 0


@pytest.mark.broker
def test_rebounded_copy_is_not_a_duplicate(sim) -> None:
    """A rebound comes back with the input's messageId and a reboundIteration header;
    even while the original is still in process it is a new message."""
    message_id = str(uuid.uuid4())
    sim.publish_input({"body": {"i": 1, "sleep": 0.5}}, messageId=message_id)
    sim.publish_input({"body": {"i": 2, "sleep": 0.5}}, messageId=message_id,
                      reboundIteration=1)
    run = sim.start_sailor("slow", ELASTICIO_RABBITMQ_PREFETCH_SAILOR="2")
    assert len(sim.wait_published(2)) == 2
    assert run.stop() == 0
    assert sim.input_depth() == 0
    assert not any(m.startswith(DUPLICATE_LINE) for m in messages(run))


@pytest.mark.broker
def test_messages_without_message_id_are_not_deduplicated(sim) -> None:
    for i in (1, 2):
        sim.publish_input({"body": {"i": i}}, messageId=None)
    run = sim.start_sailor("echo", ELASTICIO_RABBITMQ_PREFETCH_SAILOR="2")
    assert len(sim.wait_published(2)) == 2
    assert run.stop() == 0


# --- the bookkeeping itself (no broker) -------------------------------------------------


def test_dedup_holds_copies_until_the_original_finishes() -> None:
    dedup = DeliveryDedup()
    assert dedup.admit("m", "d1", redelivered=False) is Admission.PROCESS
    assert dedup.admit("m", "d2", redelivered=True) is Admission.HELD
    assert dedup.admit("m", "d3", redelivered=False) is Admission.HELD
    assert dedup.finish("m", ok=True) == ["d2", "d3"]
    assert len(dedup) == 0


def test_dedup_settles_late_redeliveries_with_the_recorded_outcome() -> None:
    dedup = DeliveryDedup()
    dedup.admit("m", "d1", redelivered=False)
    dedup.finish("m", ok=False)
    assert dedup.admit("m", "d2", redelivered=True) is Admission.FINISHED
    assert dedup.outcome("m") is False
    # not redelivered: a new message that reuses the id (e.g. a rebound) is processed
    assert dedup.admit("m", "d3", redelivered=False) is Admission.PROCESS


def test_dedup_remembers_a_bounded_number_of_finished_ids() -> None:
    dedup = DeliveryDedup(remembered=3)
    for i in range(10):
        dedup.admit(str(i), i, redelivered=False)
        dedup.finish(str(i), ok=True)
    assert len(dedup._finished) == 3
    assert dedup.admit("0", "again", redelivered=True) is Admission.PROCESS
    assert dedup.admit("9", "again", redelivered=True) is Admission.FINISHED
