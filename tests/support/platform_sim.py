"""A test-side stand-in for the elastic.io platform around one task-mode sailor.

It declares what the platform would (an exchange, the step's input queue with a
dead-letter queue so rejects are observable, a collector queue for everything the
sailor publishes), serves the platform API from a local HTTP server, publishes
encrypted input, runs ``python -m elasticio_sailor run`` and decrypts the output.
"""

from __future__ import annotations

import asyncio
import base64
import json
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiormq
from elasticio_sailor.crypto import MessageCipher
from elasticio_sailor.jsvalues import stringify
from pamqp.commands import Basic

from tests.support.recording_server import (
    RecordingServer,
    path_with_this_python,
    start_recording_server,
)

COMPONENTS = Path(__file__).resolve().parent.parent / "sailor" / "components"
TASK_COMPONENT = COMPONENTS / "task"
MISBEHAVING_COMPONENT = COMPONENTS / "misbehaving"
CRYPTO_PASSWORD = "sim-crypto-password-SECRET"
CRYPTO_IV = "iv=any16_symbols"
API_KEY = "sim-api-key-SECRET"
API_USERNAME = "sim-user@example.com"
FLOW_ID = "5f1a2b3c4d5e6f7081920a0b"
STEP_ID = "step_2"
DEFAULT_STEP_DATA = {
    "config": {"apiKey": "cfg-apikey-SECRET", "_account": "acc-42"},
    "snapshot": {"lastRun": "2024-01-01"},
    "variables": {"flowVar1": "flow-variable-value"},
}
READY_LINE = "Fully initialized and waiting for messages"
# The warning of a shutdown that gave up waiting for messages in flight.
LEFT_AFTER_GRACE = "Messages still in flight after the shutdown grace period are left to the broker"
SAILOR_RUN = (sys.executable, "-m", "elasticio_sailor", "run")


def step_identity_env(api_url: str, function: str, *, api_username: str = API_USERNAME,
                      api_key: str = API_KEY) -> dict[str, str]:
    """The always-required variables: who the step is and where the platform API is (no AMQP)."""
    return {
        "ELASTICIO_FLOW_ID": FLOW_ID,
        "ELASTICIO_EXEC_ID": "exec-0001",
        "ELASTICIO_STEP_ID": STEP_ID,
        "ELASTICIO_CONTAINER_ID": "c0ffee00-0000-4000-8000-000000000001",
        "ELASTICIO_WORKSPACE_ID": "5f1a2b3c4d5e6f7081920002",
        "ELASTICIO_USER_ID": "5f1a2b3c4d5e6f7081920001",
        "ELASTICIO_COMP_ID": "5f1a2b3c4d5e6f7081920003",
        "ELASTICIO_FUNCTION": function,
        "ELASTICIO_API_URI": api_url,
        "ELASTICIO_API_USERNAME": api_username,
        "ELASTICIO_API_KEY": api_key,
    }


@dataclass
class Published:
    """One message the sailor published, as the collector queue received it."""

    routing_key: str
    body: bytes
    properties: Basic.Properties
    cipher: MessageCipher
    received_at: float = field(default_factory=time.monotonic)  # when the collector got it

    @property
    def headers(self) -> dict[str, Any]:
        return dict(self.properties.headers or {})

    def decoded(self) -> Any:
        """A data/httpReply body: base64 text or raw ciphertext by its protocolVersion."""
        version = int(self.headers.get("protocolVersion") or 1)
        return json.loads(self.cipher.decode_frame(self.body, version))

    def envelope(self) -> dict[str, Any]:
        """An error message: ``{"error": ..., "errorInput": ...}`` with both fields decrypted."""
        wire = json.loads(self.body)
        return {key: json.loads(self.cipher.decrypt_b64(value)) for key, value in wire.items()}


@dataclass
class SailorRun:
    process: subprocess.Popen
    lines: list[str] = field(default_factory=list)
    ready: threading.Event = field(default_factory=threading.Event)
    exited: threading.Event = field(default_factory=threading.Event)

    def records(self) -> list[dict[str, Any]]:
        out = []
        for line in list(self.lines):
            try:
                out.append(json.loads(line))
            except ValueError:
                out.append({"msg": line, "unparsed": True})
        return out

    def output(self) -> str:
        return "\n".join(self.lines)

    def messages(self) -> list[str]:
        """The ``msg`` of every log record so far."""
        return [str(record.get("msg", "")) for record in self.records()]

    def wait_logged(self, msg: str, timeout: float = 15) -> bool:
        """Wait until a log record with exactly this ``msg`` has been written."""
        deadline = time.monotonic() + timeout
        while msg not in self.messages():
            if time.monotonic() > deadline or self.exited.is_set():
                return msg in self.messages()
            time.sleep(0.02)
        return True

    def wait_ready(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not self.ready.wait(0.05):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.exited.wait(2)
                raise AssertionError(f"sailor not ready:\n{self.output()}")

    def terminate(self, sig: int = signal.SIGTERM) -> None:
        self.process.send_signal(sig)

    def wait(self, timeout: float = 20) -> int:
        code = self.process.wait(timeout)
        self.exited.wait(5)
        return code

    def stop(self, timeout: float = 20) -> int:
        if self.process.poll() is None:
            self.terminate()
        return self.wait(timeout)


class PlatformSim:
    """One step's world on the shared broker; every name is unique per instance."""

    def __init__(self, broker_url: str, step_data: dict[str, Any] | None = None) -> None:
        self.broker_url = broker_url
        self.cipher = MessageCipher(CRYPTO_PASSWORD, CRYPTO_IV)
        tag = uuid.uuid4().hex[:10]
        self.exchange = f"sim_{tag}:userexchange:5f1a2b3c4d5e6f7081920001"
        self.input_routing_key = f"{FLOW_ID}:step_1:{tag}:message"
        self.input_queue = f"{FLOW_ID}:{STEP_ID}:{tag}:messages"
        self.dead_letter_queue = f"{FLOW_ID}:{STEP_ID}:{tag}:rejected"
        self.collector_queue = f"{FLOW_ID}:{STEP_ID}:{tag}:collector"
        self.routing_keys = {
            "data": f"{FLOW_ID}:{STEP_ID}:{tag}:message",
            "error": f"{FLOW_ID}:{STEP_ID}:{tag}:error",
            "rebound": f"{FLOW_ID}:{STEP_ID}:{tag}:rebound",
            "snapshot": f"{FLOW_ID}:{STEP_ID}:{tag}:snapshot",
        }
        self.published: list[Published] = []
        self._published_changed = threading.Condition()
        self.api: RecordingServer
        self.api, self._http = start_recording_server()
        self.api.answer("GET", f"/v1/tasks/{FLOW_ID}/steps/{STEP_ID}",
                        (200, step_data if step_data is not None else DEFAULT_STEP_DATA))
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._connection: Any = None
        self._channel: Any = None
        self._collector_tag = ""
        self.run(self._declare())

    # --- plumbing ------------------------------------------------------------------

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _declare(self) -> None:
        self._connection = await aiormq.connect(self.broker_url)
        channel = await self._connection.channel()
        self._channel = channel
        await channel.exchange_declare(self.exchange, exchange_type="topic", durable=False)
        await channel.queue_declare(self.dead_letter_queue, auto_delete=False)
        await channel.queue_declare(self.input_queue, arguments={
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": self.dead_letter_queue,
        })
        await channel.queue_bind(self.input_queue, self.exchange, self.input_routing_key)
        await channel.queue_declare(self.collector_queue)
        await channel.queue_bind(self.collector_queue, self.exchange, "#")
        consumed = await channel.basic_consume(self.collector_queue, self._collect, no_ack=True)
        self._collector_tag = consumed.consumer_tag

    def _collect(self, message: aiormq.abc.DeliveredMessage) -> None:
        if message.routing_key == self.input_routing_key:
            return
        with self._published_changed:
            self.published.append(Published(
                routing_key=message.routing_key or "",
                body=message.body,
                properties=message.header.properties,
                cipher=self.cipher,
            ))
            self._published_changed.notify_all()

    def close(self) -> None:
        async def _close() -> None:
            channel = self._channel
            await channel.basic_cancel(self._collector_tag)
            for queue in (self.input_queue, self.dead_letter_queue, self.collector_queue):
                await channel.queue_delete(queue)
            await channel.exchange_delete(self.exchange)
            await self._connection.close()

        try:
            self.run(_close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
            self._loop.close()
            self._http.shutdown()
            self._http.server_close()

    # --- input ---------------------------------------------------------------------

    def input_headers(self, **overrides: Any) -> dict[str, Any]:
        """Upstream headers like those a Node sailor sends (override with ``None`` to drop)."""
        headers: dict[str, Any] = {
            "execId": "exec-0001",
            "taskId": FLOW_ID,
            "workspaceId": "5f1a2b3c4d5e6f7081920002",
            "containerId": "upstream-container-id",
            "userId": "5f1a2b3c4d5e6f7081920001",
            "stepId": "step_1",
            "compId": "upstream-comp-id",
            "function": "upstream_function",
            "start": int(time.time() * 1000),
            "messageId": str(uuid.uuid4()),
            "parentMessageId": str(uuid.uuid4()),
            "threadId": str(uuid.uuid4()),
            "protocolVersion": 1,
        }
        headers.update(overrides)
        return {k: v for k, v in headers.items() if v is not None}

    def publish_raw(self, body: bytes, headers: dict[str, Any]) -> None:
        properties = Basic.Properties(
            content_type="application/json", content_encoding="utf8",
            headers=headers, delivery_mode=1)
        self.run(self._channel.basic_publish(
            body, exchange=self.exchange, routing_key=self.input_routing_key,
            properties=properties))

    def publish_input(self, payload: Any, **header_overrides: Any) -> dict[str, Any]:
        """Encrypt ``payload`` per the headers' protocolVersion and publish it."""
        headers = self.input_headers(**header_overrides)
        version = int(headers.get("protocolVersion") or 1)
        self.publish_raw(self.cipher.encode_frame(stringify(payload), version), headers)
        return headers

    def error_envelope_body(self, error: Any, error_input: Any) -> bytes:
        return stringify({
            "error": self.cipher.encrypt_b64(stringify(error)).decode(),
            "errorInput": self.cipher.encrypt_b64(stringify(error_input)).decode(),
        }).encode()

    # --- observation ---------------------------------------------------------------

    def wait_published(self, count: int, timeout: float = 15) -> list[Published]:
        deadline = time.monotonic() + timeout
        with self._published_changed:
            while len(self.published) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._published_changed.wait(left)
            return list(self.published)

    def published_until_now(self, timeout: float = 15) -> list[Published]:
        """Everything published before this call, once it has reached the collector: a
        marker sent through the exchange now arrives after it (one queue keeps order)."""
        key = f"sim-marker.{uuid.uuid4().hex}"
        properties = Basic.Properties(headers={}, delivery_mode=1)
        self.run(self._channel.basic_publish(
            b"{}", exchange=self.exchange, routing_key=key, properties=properties))
        deadline = time.monotonic() + timeout
        with self._published_changed:
            while not any(p.routing_key == key for p in self.published):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("the marker did not reach the collector")
                self._published_changed.wait(left)
            self.published = [p for p in self.published if p.routing_key != key]
            return list(self.published)

    def published_to(self, kind: str) -> list[Published]:
        key = self.routing_keys.get(kind, kind)
        return [p for p in self.published if p.routing_key == key]

    def queue_depth(self, queue: str) -> int:
        result = self.run(self._channel.queue_declare(queue, passive=True))
        return result.message_count

    def input_depth(self) -> int:
        return self.queue_depth(self.input_queue)

    def rejected_count(self) -> int:
        return self.queue_depth(self.dead_letter_queue)

    def wait_until(self, predicate: Any, timeout: float = 10, interval: float = 0.02) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(interval)
        return predicate()

    # --- the sailor ----------------------------------------------------------------

    def env(self, function: str, **overrides: str | None) -> dict[str, str]:
        env = {
            **step_identity_env(self.api.url, function),
            "ELASTICIO_AMQP_URI": self.broker_url,
            "ELASTICIO_LISTEN_MESSAGES_ON": self.input_queue,
            "ELASTICIO_PUBLISH_MESSAGES_TO": self.exchange,
            "ELASTICIO_DATA_ROUTING_KEY": self.routing_keys["data"],
            "ELASTICIO_ERROR_ROUTING_KEY": self.routing_keys["error"],
            "ELASTICIO_REBOUND_ROUTING_KEY": self.routing_keys["rebound"],
            "ELASTICIO_SNAPSHOT_ROUTING_KEY": self.routing_keys["snapshot"],
            "ELASTICIO_MESSAGE_CRYPTO_IV": CRYPTO_IV,
            "ELASTICIO_MESSAGE_CRYPTO_PASSWORD": CRYPTO_PASSWORD,
        }
        env.update(overrides)
        return {k: v for k, v in env.items() if v is not None}

    def start_sailor(
        self, function: str, *, cwd: Path = TASK_COMPONENT, wait_ready: bool = True,
        command: Sequence[str] = SAILOR_RUN, **env_overrides: str | None,
    ) -> SailorRun:
        """Start task mode; ``command`` replaces ``python -m elasticio_sailor run`` (a start
        script, say), with this interpreter's ``python`` first on PATH as in the image."""
        full_env = {"PATH": path_with_this_python(), **self.env(function, **env_overrides)}
        process = subprocess.Popen(
            list(command), cwd=cwd, env=full_env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True,
        )
        run = SailorRun(process)

        def read() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                run.lines.append(line.rstrip("\n"))
                if READY_LINE in line:
                    run.ready.set()
            process.stdout.close()
            run.exited.set()

        threading.Thread(target=read, daemon=True).start()
        if wait_ready:
            run.wait_ready()
        return run


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def sailor_connections(broker: Any) -> list[str]:
    """The ``connection_name`` client properties of open connections that have one."""
    out = broker.ctl("list_connections", "client_properties", "--quiet", "--no-table-headers")
    names = []
    for line in out.splitlines():
        marker = '{"connection_name","'
        if marker in line:
            names.append(line.split(marker, 1)[1].split('"', 1)[0])
    return names
