"""The ceiling: a minimal loop that only decrypts, publishes with confirm and acks.

Not a sailor: no component, no dedup, no throttles, no logging per message, no thread
pool. Like the sailor, it runs on uvloop when that is installed. It reads the same
``ELASTICIO_*`` variables as a sailor, consumes the same queue with the same prefetch on
a read connection and, per delivery, as a task on the loop: decrypts (base64 → AES-256-CBC
→ JSON), adds the no-op's field, encrypts, publishes the result (with the header set a
sailor sends) with a publisher confirm on a write connection, then acks. The harness
runs it as ``--sailor minimal`` and measures it exactly like the sailors, so our
sailor's figures can be read as a share of what this machine and broker allow.

    .venv/bin/python bench/throughput.py --sailor python minimal --limit lifted
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import signal
import time
import uuid

import aiormq
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from pamqp.commands import Basic

env = os.environ
KEY = hashlib.sha256(env["ELASTICIO_MESSAGE_CRYPTO_PASSWORD"].encode()).digest()
IV = env["ELASTICIO_MESSAGE_CRYPTO_IV"].encode()
CIPHER = Cipher(algorithms.AES(KEY), modes.CBC(IV))
IDENTITY = {name: env.get(f"ELASTICIO_{var}") for name, var in (
    ("execId", "EXEC_ID"), ("taskId", "FLOW_ID"), ("workspaceId", "WORKSPACE_ID"),
    ("containerId", "CONTAINER_ID"), ("userId", "USER_ID"), ("stepId", "STEP_ID"),
    ("compId", "COMP_ID"), ("function", "FUNCTION"))}


def decrypt(body: bytes) -> dict:
    decryptor = CIPHER.decryptor()
    padded = decryptor.update(base64.b64decode(body)) + decryptor.finalize()
    return json.loads(padded[:-padded[-1]])


def encrypt(value: dict) -> bytes:
    data = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    pad = 16 - len(data) % 16
    encryptor = CIPHER.encryptor()
    return base64.b64encode(encryptor.update(data + bytes((pad,)) * pad) + encryptor.finalize())


async def main() -> None:
    prefetch = int(env.get("ELASTICIO_RABBITMQ_PREFETCH_SAILOR", "1"))
    exchange = env["ELASTICIO_PUBLISH_MESSAGES_TO"]
    routing_key = env["ELASTICIO_DATA_ROUTING_KEY"]
    read = await aiormq.connect(env["ELASTICIO_AMQP_URI"])
    write = await aiormq.connect(env["ELASTICIO_AMQP_URI"])
    consume_channel = await read.channel(publisher_confirms=False)
    await consume_channel.basic_qos(prefetch_count=prefetch)
    publish_channel = await write.channel(publisher_confirms=True)
    tasks: set[asyncio.Task] = set()

    async def handle(message: aiormq.abc.DeliveredMessage) -> None:
        start = time.time_ns() // 1_000_000
        payload = decrypt(message.body)
        payload["body"]["handledBy"] = "noop"
        incoming = message.header.properties.headers or {}
        # the header set a sailor must send (docs/protocol.md#common-headers), so pamqp encodes the
        # same table
        headers = {"stepId": incoming.get("stepId"), "threadId": incoming.get("threadId"),
                   "messageId": str(uuid.uuid4()), "parentMessageId": incoming.get("messageId"),
                   **IDENTITY, "start": start, "end": time.time_ns() // 1_000_000,
                   "protocolVersion": 1}
        await publish_channel.basic_publish(
            encrypt(payload), exchange=exchange, routing_key=routing_key, mandatory=True,
            wait=False,  # as the sailor: the confirm is awaited, not the socket write
            properties=Basic.Properties(content_type="application/json",
                                        content_encoding="utf8", headers=headers,
                                        delivery_mode=1))
        await message.channel.basic_ack(message.delivery.delivery_tag, wait=False)

    def on_delivery(message: aiormq.abc.DeliveredMessage) -> None:
        task = asyncio.get_running_loop().create_task(handle(message))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await consume_channel.basic_consume(env["ELASTICIO_LISTEN_MESSAGES_ON"], on_delivery,
                                        no_ack=False)
    print(json.dumps({"name": "minimal", "level": 30,
                      "msg": "Fully initialized and waiting for messages"}), flush=True)
    await stop.wait()
    if tasks:
        await asyncio.wait(set(tasks))
    await read.close()
    await write.close()


def loop_factory():  # the sailor's rule: uvloop when installed, unless SAILOR_EVENT_LOOP=asyncio
    if env.get("SAILOR_EVENT_LOOP", "").strip().lower() != "asyncio":
        try:
            import uvloop
        except ImportError:
            return None
        return uvloop.new_event_loop
    return None


if __name__ == "__main__":
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        runner.run(main())
