"""Runs one delivery: decode, call ``process``, route the result, settle
(docs/protocol.md#incoming-messages, docs/protocol.md#running-process).

Sync ``process`` functions run in a thread pool at least as large as the prefetch, so
the event loop (and with it the AMQP heartbeats) never waits for component code.
"""

from __future__ import annotations

import asyncio
import copy
import json
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiormq.abc import DeliveredMessage

from . import lightweight
from .amqp import AmqpClient, delivery_tag_of, is_redelivered
from .context import ExecutionContext, Rebounds
from .crypto import DecryptionError, MessageCipher
from .dedup import Admission, DeliveryDedup
from .emitter import Delivery, MessageEmitter, StepState
from .errors import SailorException, describe
from .headers import as_text, common_headers, now_ms, protocol_version_of, read_incoming
from .invoke import run_process
from .object_storage import ObjectStorageError
from .publisher import Publisher
from .settings import TaskSettings

MIN_WORKER_THREADS = 4
FINISHED_IDS_PER_PREFETCH = 16


class DecodeError(SailorException):
    """The delivery cannot be turned into a message; its text never quotes the body."""


class MessageExecutor:
    def __init__(
        self,
        *,
        settings: TaskSettings,
        cipher: MessageCipher,
        amqp: AmqpClient,
        publisher: Publisher,
        state: StepState,
        process: Callable[..., Any] | None,
        log: Any,
        component_log: Any,
        shutting_down: threading.Event,
    ) -> None:
        self._settings = settings
        self._cipher = cipher
        self._amqp = amqp
        self._publisher = publisher
        self._state = state
        self._process = process if callable(process) else None
        self._shutting_down = shutting_down  # ``self.shutting_down`` of every process call
        self._log = log
        self._component_log = component_log
        self._pool = ThreadPoolExecutor(
            max_workers=max(settings.prefetch, MIN_WORKER_THREADS),
            thread_name_prefix="process",
        )
        self._in_flight: set[asyncio.Task[None]] = set()
        self._unsettled = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._dedup = DeliveryDedup(
            max(1024, FINISHED_IDS_PER_PREFETCH * settings.prefetch))

    # --- lifecycle -------------------------------------------------------------------

    async def on_delivery(self, message: DeliveredMessage) -> None:
        """The consumer callback: start handling without blocking the channel's reader."""
        self._unsettled += 1
        self._idle.clear()
        key = _dedup_key_of(message)
        if key is None:
            self._track(self.handle(message))
            return
        admission = self._dedup.admit(
            key, message, redelivered=is_redelivered(message))
        if admission is Admission.PROCESS:
            self._track(self.handle(message, key))
        elif admission is Admission.HELD:
            self._log.warning(
                "Duplicate message detected; it is settled when the first delivery "
                "has been processed", dedupKey=key,
                deliveryTag=delivery_tag_of(message))
        else:
            self._log.warning(
                "Redelivered message was already processed; settling it as before",
                dedupKey=key, deliveryTag=delivery_tag_of(message))
            self._track(self._settle_deliveries((message,), self._dedup.outcome(key)))

    def _track(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    def _settled(self, count: int = 1) -> None:
        self._unsettled -= count
        if self._unsettled <= 0:
            self._unsettled = 0
            self._idle.set()

    async def wait_idle(self, timeout_s: float | None = None) -> bool:
        """Wait until every delivery received so far has been settled and handled, or
        ``timeout_s`` has passed; whether it has."""
        try:
            await asyncio.wait_for(self._wait_idle(), timeout_s)
        except TimeoutError:
            return False
        return True

    async def _wait_idle(self) -> None:
        await self._idle.wait()
        if self._in_flight:
            await asyncio.wait(set(self._in_flight))

    async def abandon(self) -> int:
        """Cancel the handling of every delivery still in flight and leave those
        deliveries unsettled (the broker delivers them again when the connection closes).
        A sync ``process`` cannot be stopped: its thread is left behind. The count."""
        tasks = set(self._in_flight)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        return len(tasks)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    # --- decoding --------------------------------------------------------------------

    def decode(self, message: DeliveredMessage) -> tuple[dict[str, Any], int]:
        headers = message.header.properties.headers or {}
        version = protocol_version_of(headers)
        if not message.body:
            raise DecodeError("empty message body")
        try:
            if self._settings.input_format == "error":
                payload = self._decode_error_envelope(message.body, headers)
            else:
                payload = self._cipher.decode_json(message.body, version)
        except DecryptionError as exc:
            raise DecodeError(f"cannot decrypt the message: {exc}") from exc
        if not isinstance(payload, dict):
            raise DecodeError("the decrypted message is not a JSON object")
        if not isinstance(payload.get("headers"), dict):
            payload["headers"] = {}
        reply_to = headers.get("reply_to")
        if reply_to is not None:
            payload["headers"]["reply_to"] = as_text(reply_to)
        return payload, version

    def _decode_error_envelope(self, body: bytes, headers: dict[str, Any]) -> dict[str, Any]:
        """INPUT_FORMAT=error (docs/protocol.md#error-handler-input): plain JSON whose fields are
        base64 ciphertext."""
        try:
            envelope = json.loads(body)
        except ValueError as exc:
            raise DecryptionError("the error envelope is not JSON") from exc
        if not isinstance(envelope, dict):
            raise DecryptionError("the error envelope is not a JSON object")
        decoded = {}
        for field in ("error", "errorInput"):
            if envelope.get(field) is not None:
                text = self._cipher.decrypt_b64(envelope[field])
                try:
                    decoded[field] = json.loads(text)
                except ValueError as exc:
                    raise DecryptionError(f"{field} is not JSON") from exc
        return {"body": decoded, "headers": {k: as_text(v) for k, v in headers.items()}}

    # --- settlement --------------------------------------------------------------------

    async def _settle_deliveries(self, deliveries: Iterable[DeliveredMessage], ok: bool) -> None:
        """Ack (``ok``) or reject each delivery; each counts as settled, even if lost."""
        for message in deliveries:
            try:
                await self._settle_one(message, ok)
            finally:
                self._settled()

    async def _settle_one(self, message: DeliveredMessage, ok: bool) -> bool:
        tag = delivery_tag_of(message)
        if message.channel.is_closed:
            # The broker requeues it and delivers it again; dedup settles that copy.
            self._log.warning("Cannot settle the message: its channel is closed",
                              deliveryTag=tag)
            return False
        try:
            if ok:
                await self._amqp.ack(message)
            else:
                await self._amqp.reject(message)
        except Exception as exc:  # noqa: BLE001 - the delivery is lost with its channel
            self._log.error("Failed to settle the message", deliveryTag=tag,
                            error=describe(exc))
            return False
        return True

    # --- one delivery ----------------------------------------------------------------

    async def handle(self, message: DeliveredMessage, dedup_key: str | None = None) -> None:
        """Process one admitted delivery; settle it (and its held copies) exactly once."""
        start = now_ms()
        settled = False

        async def settle(ok: bool) -> None:
            nonlocal settled
            if settled:
                return
            settled = True
            copies = self._dedup.finish(dedup_key, ok) if dedup_key is not None else []
            await self._settle_deliveries((message, *copies), ok)

        try:
            await self._handle(message, start, settle)
        except Exception as exc:  # noqa: BLE001 - a bug must not leave the delivery unsettled
            self._log.error("Unexpected failure while handling a message", error=describe(exc))
            await settle(False)
        finally:
            if not settled:  # cancelled: only the bookkeeping, the broker requeues them
                settled = True
                copies = self._dedup.finish(dedup_key, False) if dedup_key is not None else []
                self._settled(1 + len(copies))

    async def _handle(
        self, message: DeliveredMessage, start: int, settle: Callable[[bool], Awaitable[None]],
    ) -> None:
        delivery_fields = {
            "deliveryTag": delivery_tag_of(message),
            "redelivered": is_redelivered(message),
            "exchange": message.exchange,
            "routingKey": message.routing_key,
        }
        amqp_headers = message.header.properties.headers or {}
        incoming = read_incoming(amqp_headers)
        ids = {"threadId": incoming.thread_id, "messageId": incoming.message_id,
               "parentMessageId": incoming.parent_message_id}
        log = self._log.child(**ids, **delivery_fields)
        if incoming.message_id is None:
            log.warning("Message does not have messageId")
        try:
            payload, version = self.decode(message)
        except DecodeError as exc:
            # bunyan logger, not stdlib logging: no traceback wanted here
            log.error("Failed to decode the incoming message; rejecting it",  # noqa: TRY400
                      reason=str(exc))
            await settle(False)
            return

        delivery = Delivery(
            message=message,
            payload=payload,
            incoming=incoming,
            common_headers=common_headers(self._settings, incoming, start),
            protocol_version=version,
        )
        needs_resolving = (self._state.auto_resolve_references
                           and lightweight.has_references(payload))
        if needs_resolving and not await self._resolve_references(delivery, log):
            await settle(False)
            return
        if self._state.is_passthrough:
            delivery.original_passthrough = copy.deepcopy(payload.get("passthrough") or {})
            if self._settings.no_self_passthrough:
                delivery.original_without_passthrough = copy.deepcopy(
                    {k: v for k, v in payload.items() if k != "passthrough"})
        emitter = MessageEmitter(
            delivery,
            publisher=self._publisher,
            state=self._state,
            settings=self._settings,
            log=log,
            settle=settle,
        )
        rebounds = Rebounds(done=Rebounds.done_of(amqp_headers),
                            limit=self._settings.rebound_limit,
                            first_delay_ms=self._settings.rebound_initial_expiration_ms)
        await self._run_process(emitter, payload, ids, rebounds)
        await emitter.drain()

    async def _resolve_references(self, delivery: Delivery, log: Any) -> bool:
        """docs/protocol.md#incoming-references: fetch lightweight bodies before ``process`` runs.
        On failure the error is published (not throttled); the caller rejects the input."""
        try:
            await lightweight.resolve_incoming(delivery.payload, self._state.bodies)
        except ObjectStorageError as exc:
            log.error(str(exc), reason=str(exc.__cause__ or ""))  # noqa: TRY400
            await self._publisher.publish_error(
                exc, delivery.common_headers,
                error_input=self._publisher.error_input(
                    delivery.message.body, delivery.protocol_version))
            return False
        return True

    async def _run_process(
        self, emitter: MessageEmitter, payload: dict[str, Any], ids: dict[str, Any],
        rebounds: Rebounds,
    ) -> None:
        context = ExecutionContext(
            emitter,
            logger=self._component_log.child(**ids),
            flow_variables=self._state.flow_variables,
            config=self._settings,
            api_client=self._state.platform_api,
            attachments=self._state.attachments,
            shutting_down=self._shutting_down,
            rebounds=rebounds,
        )
        # every return ends (docs/protocol.md#deviation-every-process-ends);
        # Ending.INTERRUPTED leaves the delivery unsettled: the broker delivers it again.
        await run_process(
            context, self._process, payload, copy.deepcopy(self._state.config),
            copy.deepcopy(self._state.snapshot), pool=self._pool)


def _dedup_key_of(message: DeliveredMessage) -> str | None:
    """The ``messageId`` header; for a rebounded message with its ``reboundIteration``.

    A rebound re-publishes the input with the same messageId (docs/protocol.md#rebound); with a
    short REBOUND_INITIAL_EXPIRATION it can come back while the original is still ending. Node would
    take it for a duplicate and drop it; it is a new delivery
    (docs/protocol.md#deviation-rebound-is-not-a-duplicate).
    """
    headers = message.header.properties.headers
    if not headers:
        return None
    message_id = as_text(headers.get("messageId"))
    if not message_id:
        return None
    iteration = headers.get("reboundIteration")
    return message_id if iteration is None else f"{message_id}#rebound{as_text(iteration)}"
