"""The broker closes the sailor's connections or cancels its consumer
(docs/protocol.md#consuming, docs/protocol.md#deviation-consumer-cancel): the sailor consumes
and publishes again, and afterwards every input has been settled exactly once and every output
published."""

from __future__ import annotations

import collections
import time

import pytest

from tests.support.broker_faults import (
    close_sailor_connections,
    close_sailor_consumer_channel,
    declare_input_queue,
    delete_input_queue,
    reattach,
    sailor_connection_pids,
    wait_for_sailor_connections,
)

pytestmark = pytest.mark.broker


def messages(run) -> list[str]:
    return [r.get("msg", "") for r in run.records()]


def input_index(body: dict) -> int:
    """``i`` of the input: ``slow`` returns the input body, ``echo`` the whole message."""
    return body["i"] if "i" in body else body["received"]["body"]["i"]


def outputs_per_input(sim) -> collections.Counter:
    return collections.Counter(
        input_index(p.decoded()["body"]) for p in sim.published_to("data"))


@pytest.mark.parametrize("role", ["read", None])
def test_consumer_connection_closed_while_idle(sim, broker, role) -> None:
    run = sim.start_sailor("echo")
    assert close_sailor_connections(broker, role) == (1 if role else 2)
    wait_for_sailor_connections(broker, ("read",))
    sim.publish_input({"body": {"i": 1}})
    [data] = sim.wait_published(1)
    assert data.decoded()["body"]["received"]["body"] == {"i": 1}
    assert run.stop() == 0
    assert sim.input_depth() == 0
    assert "Consuming again" in messages(run)


def test_consumer_channel_closed_while_idle(sim, broker) -> None:
    """Only the channel closes (the connection stays): a new channel, same connection."""
    run = sim.start_sailor("echo")
    read_connection = sailor_connection_pids(broker, "read")
    close_sailor_consumer_channel(broker)
    assert sim.wait_until(lambda: "Consuming again" in messages(run), timeout=10)
    assert sailor_connection_pids(broker, "read") == read_connection
    sim.publish_input({"body": {"i": 1}})
    [data] = sim.wait_published(1)
    assert data.decoded()["body"]["received"]["body"] == {"i": 1}
    assert run.stop() == 0
    assert sim.input_depth() == 0


def test_broker_consumer_cancel_consumes_again(sim) -> None:
    """The queue is deleted (basic.cancel from the broker) and declared again."""
    run = sim.start_sailor("echo", ELASTICIO_AMQP_RECONNECT_TIMEOUT="200")
    delete_input_queue(sim)
    declare_input_queue(sim)
    assert sim.wait_until(lambda: "Consuming again" in messages(run), timeout=10)
    sim.publish_input({"body": {"i": 1}})
    assert len(sim.wait_published(1)) == 1
    assert run.stop() == 0


def test_consumer_cancel_without_a_queue_to_consume_exits_non_zero(sim) -> None:
    """Rather than idling forever (Node), stop so that the platform restarts the pod."""
    run = sim.start_sailor("echo", ELASTICIO_AMQP_RECONNECT_ATTEMPTS="2",
                           ELASTICIO_AMQP_RECONNECT_TIMEOUT="50")
    delete_input_queue(sim)
    assert run.wait(timeout=15) == 1
    assert "Successfully disconnected" in messages(run)
    declare_input_queue(sim)  # for the fixture's clean-up


def test_connections_closed_while_messages_are_processed(sim, broker, tmp_path) -> None:
    """Both connections close while 4 messages are in `process`: the broker redelivers
    them on the new channel; the copies are held, then acked for the originals."""
    total, prefetch = 6, 4
    gate = tmp_path / "gate"
    for i in range(total):
        sim.publish_input({"body": {"i": i, "gate": str(gate)}})
    run = sim.start_sailor("slow", ELASTICIO_RABBITMQ_PREFETCH_SAILOR=str(prefetch))
    assert sim.wait_until(lambda: sim.input_depth() == total - prefetch)
    assert broker.close_all_connections() >= 3  # the sailor's two and the simulator's
    reattach(sim)

    def held_copies() -> int:
        return sum(m.startswith("Duplicate message detected") for m in messages(run))

    assert sim.wait_until(lambda: held_copies() == prefetch, timeout=20)
    gate.touch()  # the originals may finish now
    sim.wait_published(total, timeout=20)
    assert run.stop() == 0
    assert outputs_per_input(sim) == dict.fromkeys(range(total), 1)
    assert sim.input_depth() == 0
    assert sim.rejected_count() == 0
    assert held_copies() == prefetch


def test_connections_closed_while_outputs_are_published(sim, broker) -> None:
    """Connections close in the middle of a stream of fast messages. Deliveries whose
    ack or output confirm was lost with the connection can produce a duplicate output,
    but at most one per message in flight; no input is lost or left unsettled."""
    total, prefetch = 500, 10
    for i in range(total):
        sim.publish_input({"body": {"i": i}})
    # the default rate limit (100 data messages/s) makes the stream last about 5 s
    run = sim.start_sailor(
        "echo", ELASTICIO_RABBITMQ_PREFETCH_SAILOR=str(prefetch),
        ELASTICIO_AMQP_PUBLISH_RETRY_DELAY="20")
    assert sim.wait_until(lambda: len(sim.published) >= 50, timeout=20)
    broker.close_all_connections()
    reattach(sim)
    deadline = time.monotonic() + 60
    while len(outputs_per_input(sim)) < total and time.monotonic() < deadline:
        time.sleep(0.1)
    assert run.stop() == 0
    counts = outputs_per_input(sim)
    assert set(counts) == set(range(total))  # every output published
    duplicates = sum(n - 1 for n in counts.values())
    assert max(counts.values()) <= 2
    assert duplicates <= 2 * prefetch  # bounded by what was in flight (consumer + publisher)
    assert sim.input_depth() == 0  # every input settled
    assert sim.rejected_count() == 0
    assert not sim.published_to("error")


def test_publish_on_a_lost_connection_is_retried(sim, broker) -> None:
    """The write connection dies while a publish waits for its confirm (the broker's memory alarm
    holds it back): the publish is retried on a new connection with the ``retry`` header and backoff
    (docs/protocol.md#publishing), the input is acked, nothing is rejected."""
    sim.publish_input({"body": {"i": 1}})
    broker.ctl("set_vm_memory_high_watermark", "0")  # blocks every publishing connection
    try:
        run = sim.start_sailor("echo", ELASTICIO_AMQP_PUBLISH_RETRY_DELAY="50",
                               ELASTICIO_AMQP_PUBLISH_MAX_RETRY_DELAY="200", LOG_LEVEL="trace")
        assert run.wait_logged("Pushing to exchange")  # the publish has started
        close_sailor_connections(broker, "write")
    finally:
        broker.ctl("set_vm_memory_high_watermark", "0.4")
    [data] = sim.wait_published(1)
    assert data.decoded()["body"]["received"]["body"] == {"i": 1}
    assert data.headers["retry"] >= 1
    assert run.stop() == 0
    assert sim.input_depth() == 0
    assert sim.rejected_count() == 0
    assert "Publish failed, retrying" in messages(run)
