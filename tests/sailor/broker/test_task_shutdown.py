"""Graceful shutdown and concurrency (docs/protocol.md#shutdown)."""

from __future__ import annotations

import pytest

from tests.support.platform_sim import LEFT_AFTER_GRACE, MISBEHAVING_COMPONENT, sailor_connections

pytestmark = pytest.mark.broker


def test_sigterm_while_processing_finishes_the_message_then_exits(sim) -> None:
    sim.publish_input({"body": {"i": 1, "sleep": 1.0}})
    sim.publish_input({"body": {"i": 2, "sleep": 1.0}})
    run = sim.start_sailor("slow")
    assert sim.wait_until(lambda: sim.input_depth() == 1)
    run.terminate()
    assert run.wait() == 0
    [data] = sim.published_until_now()
    assert data.decoded()["body"] == {"i": 1, "sleep": 1.0, "slow": True}
    assert sim.input_depth() == 1
    assert sim.rejected_count() == 0
    messages = [r.get("msg") for r in run.records()]
    assert messages.index("Received SIGTERM") < messages.index("Successfully disconnected")


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_signal_while_idle_disconnects_and_exits_0(sim, broker, sig: str) -> None:
    import signal

    run = sim.start_sailor("echo")
    assert sorted(n.rsplit("-", 1)[1] for n in sailor_connections(broker)) == ["read", "write"]
    run.terminate(getattr(signal, sig))
    assert run.wait(timeout=5) == 0  # nothing to wait for
    assert sailor_connections(broker) == []


def test_prefetch_runs_sync_process_concurrently(sim, tmp_path) -> None:
    """Prefetch 4 with a blocking sync process: all 4 are in process at the same time."""
    gate = tmp_path / "gate"
    for i in range(4):
        sim.publish_input({"body": {"i": i, "gate": str(gate)}})
    run = sim.start_sailor("slow", ELASTICIO_RABBITMQ_PREFETCH_SAILOR="4")
    assert sim.wait_until(lambda: run.messages().count("waiting at the gate") == 4)
    gate.touch()
    assert len(sim.wait_published(4, timeout=10)) == 4
    assert run.stop() == 0


def test_blocking_process_keeps_heartbeats_flowing(sim, broker) -> None:
    """A process blocking for several heartbeat intervals does not cost the connection."""
    sim.publish_input({"body": {"sleep": 4.0}})
    run = sim.start_sailor("slow", ELASTICIO_AMQP_URI=broker.url + "?heartbeat=1")
    [data] = sim.wait_published(1, timeout=15)
    assert data.decoded()["body"]["slow"] is True
    assert run.stop() == 0
    assert sim.input_depth() == 0
    assert sim.rejected_count() == 0


STOPPED_FOR_SHUTDOWN = ("Processing stopped for the shutdown; the message is left to the broker "
                        "to be delivered again")


@pytest.mark.parametrize("function", ["waits_for_shutdown", "waits_for_shutdown_async"])
def test_work_stopped_for_the_shutdown_is_left_to_the_broker(sim, function: str) -> None:
    """The component sees ``self.shutting_down`` and raises ShutdownInterrupted: nothing
    is published, the message is neither acked nor rejected, the sailor exits at once."""
    sim.publish_input({"body": {"i": 1}})
    run = sim.start_sailor(function, cwd=MISBEHAVING_COMPONENT)
    assert run.wait_logged("work started")
    run.terminate()
    assert run.wait() == 0
    assert sim.wait_until(lambda: sim.input_depth() == 1)
    assert sim.rejected_count() == 0
    assert sim.published_until_now() == []
    messages = run.messages()
    assert STOPPED_FOR_SHUTDOWN in messages
    assert LEFT_AFTER_GRACE not in messages


@pytest.mark.parametrize("sync", [True, False])
def test_work_still_running_after_the_grace_period_is_left_to_the_broker(
    sim, sync: bool,
) -> None:
    """A component that ignores the signal (60 s of work) does not hold the shutdown
    beyond ELASTICIO_SHUTDOWN_GRACE_S: its message goes back to the queue."""
    sim.publish_input({"body": {"sync": sync}})
    run = sim.start_sailor("ignores_shutdown", cwd=MISBEHAVING_COMPONENT,
                           ELASTICIO_SHUTDOWN_GRACE_S="0.5")
    assert run.wait_logged("work started")
    run.terminate()
    assert run.wait(timeout=15) == 0
    assert sim.wait_until(lambda: sim.input_depth() == 1)
    assert sim.rejected_count() == 0
    assert sim.published_until_now() == []
    [left] = [r for r in run.records() if r.get("msg") == LEFT_AFTER_GRACE]
    assert (left["inFlight"], left["graceSeconds"]) == (1, 0.5)
    assert "Successfully disconnected" in run.messages()


def test_shutdown_interrupted_outside_a_shutdown_is_an_error(sim) -> None:
    sim.publish_input({"body": {}})
    run = sim.start_sailor("interrupted_without_shutdown", cwd=MISBEHAVING_COMPONENT)
    [error] = sim.wait_published(1)
    assert sim.wait_until(lambda: sim.rejected_count() == 1)
    assert run.stop() == 0
    assert error.envelope()["error"]["name"] == "ShutdownInterrupted"
    assert error.envelope()["error"]["message"] == "no shutdown in sight"
