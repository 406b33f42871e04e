"""Faults the broker inflicts on a running sailor, for the reliability tests.

Connections are closed with ``rabbitmqctl close_connection`` (what an operator or a
broker restart does); a consumer is cancelled by the broker when its queue is deleted.
"""

from __future__ import annotations

import time
from typing import Any

import aiormq

from tests.support.broker import Broker
from tests.support.platform_sim import PlatformSim

CONNECTION_NAME_MARKER = '{"connection_name","'


def sailor_connection_pids(broker: Broker, role: str | None = None) -> list[str]:
    """Pids of the open connections named ``<host>-read``/``<host>-write`` (or ``role``)."""
    out = broker.ctl("list_connections", "pid", "client_properties",
                     "--quiet", "--no-table-headers")
    pids = []
    for line in out.splitlines():
        if CONNECTION_NAME_MARKER not in line:
            continue
        name = line.split(CONNECTION_NAME_MARKER, 1)[1].split('"', 1)[0]
        if role is None or name.endswith(f"-{role}"):
            pids.append(line.split(None, 1)[0])
    return pids


def close_sailor_connections(broker: Broker, role: str | None = None) -> int:
    """Close the sailor's ``role`` connection (both when None) from the broker side."""
    pids = sailor_connection_pids(broker, role)
    for pid in pids:
        broker.ctl("close_connection", pid, "closed by a reliability test")
    return len(pids)


def wait_for_sailor_connections(broker: Broker, roles: tuple[str, ...],
                                timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(sailor_connection_pids(broker, role) for role in roles):
            return
        time.sleep(0.1)
    raise AssertionError(f"the sailor did not reconnect {roles}")


def reattach(sim: PlatformSim) -> None:
    """After ``broker.close_all_connections()``: the simulator's own connection again.

    The collector queue keeps what was published meanwhile; the new consumer gets it.
    """

    async def _reattach() -> None:
        sim._connection = await aiormq.connect(sim.broker_url)
        sim._channel = await sim._connection.channel()
        consumed = await sim._channel.basic_consume(
            sim.collector_queue, sim._collect, no_ack=True)
        sim._collector_tag = consumed.consumer_tag

    sim.run(_reattach())


def delete_input_queue(sim: PlatformSim) -> None:
    """The broker cancels every consumer of a deleted queue (basic.cancel)."""
    sim.run(sim._channel.queue_delete(sim.input_queue))


def declare_input_queue(sim: PlatformSim) -> None:
    """The input queue as the simulator declares it (dead-lettering to the reject queue)."""

    async def _declare() -> Any:
        await sim._channel.queue_declare(sim.input_queue, arguments={
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": sim.dead_letter_queue,
        })
        await sim._channel.queue_bind(sim.input_queue, sim.exchange, sim.input_routing_key)

    sim.run(_declare())


def close_sailor_consumer_channel(broker: Broker) -> None:
    """The broker closes only the channel of the sailor's consumer (the connection stays).

    Done by handing the server-side channel process a ``channel.close`` as if the client
    had sent it: the broker closes the channel and tells the client with ``close-ok``.
    """
    [read_pid] = sailor_connection_pids(broker, "read")
    out = broker.ctl("list_channels", "pid", "connection", "--quiet", "--no-table-headers")
    channels = [line.split()[0] for line in out.splitlines()
                if line.split()[1:2] == [read_pid]]
    assert len(channels) == 1, out
    # rabbitmqctl prints <node.creation.id.serial>; on the node itself it is <0.id.serial>
    local_pid = "<0.{}.{}>".format(*channels[0].strip("<>").rsplit(".", 2)[1:])
    broker.ctl("eval", f'rabbit_channel:do(list_to_pid("{local_pid}"), '
                       "{'channel.close', 320, <<\"closed by a test\">>, 0, 0}).")
