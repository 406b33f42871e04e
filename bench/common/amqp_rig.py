"""Exchanges, queues and messages for one benchmark run, named like the platform does.

The sailor under test is step ``step_2`` of a flow: it consumes
``<flow>:step_2:<ts>:messages`` (bound to step_1's data key) and publishes to the user
exchange with ``<flow>:step_2:<ts>:{message,error,rebound,snapshot}``. A collector
queue bound to those four keys plays the next step and counts what arrives.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiormq
from pamqp.commands import Basic

from .crypto import MessageCrypto

FLOW_ID = "5f1a2b3c4d5e6f7081920a0b"
USER_ID = "5f1a2b3c4d5e6f7081920001"
WORKSPACE_ID = "5f1a2b3c4d5e6f7081920002"
COMP_ID = "5f1a2b3c4d5e6f7081920003"
STEP_ID = "step_2"
PUBLISH_CHUNK = 500


@dataclass
class Topology:
    exchange: str
    input_key: str
    input_queue: str
    data_key: str
    error_key: str
    rebound_key: str
    snapshot_key: str
    output_queue: str

    @classmethod
    def fresh(cls) -> Topology:
        ts = f"{int(time.time() * 1000)}{uuid.uuid4().hex[:4]}"
        step = f"{FLOW_ID}:{STEP_ID}:{ts}"
        return cls(
            exchange=f"bench_{ts}:userexchange:{USER_ID}",
            input_key=f"{FLOW_ID}:step_1:{ts}:message",
            input_queue=f"{step}:messages",
            data_key=f"{step}:message",
            error_key=f"{step}:error",
            rebound_key=f"{step}:rebound",
            snapshot_key=f"{step}:snapshot",
            output_queue=f"{FLOW_ID}:step_3:{ts}:messages",
        )

    def sailor_env(self) -> dict[str, str]:
        return {
            "ELASTICIO_LISTEN_MESSAGES_ON": self.input_queue,
            "ELASTICIO_PUBLISH_MESSAGES_TO": self.exchange,
            "ELASTICIO_DATA_ROUTING_KEY": self.data_key,
            "ELASTICIO_ERROR_ROUTING_KEY": self.error_key,
            "ELASTICIO_REBOUND_ROUTING_KEY": self.rebound_key,
            "ELASTICIO_SNAPSHOT_ROUTING_KEY": self.snapshot_key,
        }


def input_message(index: int, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(AMQP headers, message payload) of the index-th upstream message."""
    message_id = str(uuid.uuid4())
    now = int(time.time() * 1000)
    headers = {
        "execId": "exec-bench",
        "taskId": FLOW_ID,
        "workspaceId": WORKSPACE_ID,
        "containerId": "upstream-container-id",
        "userId": USER_ID,
        "stepId": "step_1",
        "compId": "upstream-comp-id",
        "function": "upstream_function",
        "start": now,
        "end": now,
        "messageId": message_id,
        "parentMessageId": str(uuid.uuid4()),
        "threadId": str(uuid.uuid4()),
        "protocolVersion": 1,
    }
    payload = {
        "id": message_id,
        "headers": {},
        "body": {"index": index, **body},
        "attachments": {},
    }
    return headers, payload


@dataclass
class Output:
    """One data output: when it arrived, its ``start`` and ``end`` headers (ms), and the
    ``id`` of its body when the collector decodes every output."""

    arrived_at: float
    start_ms: int | None
    end_ms: int | None
    body_id: Any = None


@dataclass
class Collector:
    """Counts what the sailor publishes; ``done`` is set after ``expected`` data messages.

    Messages on the routing kinds in ``allowed`` (e.g. ``snapshot``) are counted (with
    their bytes) instead of failing the run; ``decode_all`` decrypts every data output to
    keep its body's ``id``."""

    topology: Topology
    crypto: MessageCrypto
    expected: int
    allowed: frozenset[str] = frozenset()
    decode_all: bool = False
    data: int = 0
    first_output_at: float | None = None
    last_output_at: float | None = None
    first_start_ms: int | None = None
    outputs: list[Output] = field(default_factory=list)
    other: Counter = field(default_factory=Counter)
    counted: Counter = field(default_factory=Counter)
    counted_bytes: Counter = field(default_factory=Counter)
    sample: Any = None
    problem: str | None = None
    channel: Any = None
    done: asyncio.Event = field(default_factory=asyncio.Event)

    async def on_message(self, message: aiormq.abc.DeliveredMessage) -> None:
        now = time.time()
        headers = message.header.properties.headers or {}
        if message.routing_key != self.topology.data_key:
            kind = message.routing_key.rsplit(":", 1)[-1]
            if kind in self.allowed:
                self.counted[kind] += 1
                self.counted_bytes[kind] += len(message.body)
                return
            self.other[kind] += 1
            if self.problem is None:
                self.problem = self._describe(message)
            return
        self.data += 1
        body_id = None
        if self.first_output_at is None:
            self.first_output_at = now
            self.sample = self._decode(message)
        if self.decode_all:
            decoded = self._decode(message)
            body = decoded.get("body") if isinstance(decoded, dict) else None
            body_id = body.get("id") if isinstance(body, dict) else None
        self.last_output_at = now
        start, end = headers.get("start"), headers.get("end")
        self.outputs.append(Output(now, start if isinstance(start, int) else None,
                                   end if isinstance(end, int) else None, body_id))
        if isinstance(start, int) and (self.first_start_ms is None or start < self.first_start_ms):
            self.first_start_ms = start
        if self.data >= self.expected:
            self.done.set()

    def _decode(self, message: aiormq.abc.DeliveredMessage) -> Any:
        headers = message.header.properties.headers or {}
        try:
            return self.crypto.decrypt(message.body, int(headers.get("protocolVersion") or 1))
        except Exception as exc:
            return f"<undecodable: {exc}>"

    def _describe(self, message: aiormq.abc.DeliveredMessage) -> str:
        text = message.body[:2000].decode("utf-8", "replace")
        return f"{message.routing_key}: {text}"


class Rig:
    """One AMQP connection of the harness: declares, pre-loads, collects, cleans up."""

    def __init__(self, amqp_url: str, crypto: MessageCrypto) -> None:
        self.amqp_url = amqp_url
        self.crypto = crypto
        self._connection: aiormq.abc.AbstractConnection | None = None
        self._channel: aiormq.abc.AbstractChannel | None = None

    async def __aenter__(self) -> Rig:
        self._connection = await aiormq.connect(self.amqp_url)
        self._channel = await self._connection.channel(publisher_confirms=True)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._connection is not None:
            await self._connection.close()

    async def declare(self, topology: Topology) -> None:
        ch = self._channel
        await ch.exchange_declare(topology.exchange, exchange_type="topic", durable=True)
        await ch.queue_declare(topology.input_queue, durable=True)
        await ch.queue_bind(topology.input_queue, topology.exchange, routing_key=topology.input_key)
        await ch.queue_declare(topology.output_queue, durable=True)
        for key in (topology.data_key, topology.error_key, topology.rebound_key,
                    topology.snapshot_key):
            await ch.queue_bind(topology.output_queue, topology.exchange, routing_key=key)

    async def preload(self, topology: Topology, count: int, body: dict[str, Any]) -> None:
        """Publish ``count`` encrypted protocol-v1 messages and wait until all are queued."""
        ch = self._channel
        for first in range(0, count, PUBLISH_CHUNK):
            publishes = []
            for index in range(first, min(count, first + PUBLISH_CHUNK)):
                headers, payload = input_message(index, body)
                properties = Basic.Properties(
                    content_type="application/json",
                    content_encoding="utf8",
                    delivery_mode=1,
                    headers=headers,
                )
                publishes.append(ch.basic_publish(
                    self.crypto.encrypt(payload, 1),
                    exchange=topology.exchange,
                    routing_key=topology.input_key,
                    properties=properties,
                    mandatory=True,
                ))
            await asyncio.gather(*publishes)
        ready = await self.message_count(topology.input_queue)
        if ready != count:
            raise RuntimeError(f"pre-loaded {count} messages but the queue holds {ready}")

    async def message_count(self, queue: str) -> int:
        result = await self._channel.queue_declare(queue, passive=True)
        return result.message_count

    async def collect(self, topology: Topology, expected: int, *,
                      allowed: frozenset[str] = frozenset(),
                      decode_all: bool = False) -> Collector:
        collector = Collector(topology, self.crypto, expected, allowed, decode_all)
        consume_channel = await self._connection.channel(publisher_confirms=False)
        await consume_channel.basic_qos(prefetch_count=2000)
        await consume_channel.basic_consume(topology.output_queue, collector.on_message,
                                            no_ack=True)
        collector.channel = consume_channel
        return collector

    async def delete(self, topology: Topology, collector: Collector | None) -> None:
        if collector is not None:
            await collector.channel.close()
        ch = self._channel
        await ch.queue_delete(topology.input_queue)
        await ch.queue_delete(topology.output_queue)
        await ch.exchange_delete(topology.exchange)
