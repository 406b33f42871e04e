"""The events of one incoming message (docs/protocol.md#events) and its settlement
(docs/protocol.md#settlement).

Every emit is handled on the event loop, in the order emitted: each handler waits for
the previous emit of the same message. Deviation from Node
(docs/protocol.md#deviation-settle-after-emits): Node does not serialise handlers, so an
``end`` could settle the message before an earlier publish finished; here ``end`` always
comes after every earlier emit has completed.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiormq.abc import DeliveredMessage

from . import lightweight
from .context import Rebounds
from .errors import SailorError, describe
from .headers import IncomingIds
from .publisher import Publisher


@dataclass
class StepState:
    """What the process knows about its step and carries across messages."""

    config: dict[str, Any]
    snapshot: Any
    is_passthrough: bool
    flow_variables: dict[str, Any]
    platform_api: Any = None
    bodies: Any = None  # lightweight.BodyStore (docs/protocol.md#object-storage)
    attachments: Any = None  # attachments.Attachments: the component's self.attachments
    auto_resolve_references: bool = True  # the definition's autoResolveObjectReferences


@dataclass
class Delivery:
    """One decoded delivery and everything derived from it before ``process`` runs."""

    message: DeliveredMessage
    payload: dict[str, Any]
    incoming: IncomingIds
    common_headers: dict[str, Any]
    protocol_version: int
    original_passthrough: dict[str, Any] | None = None
    original_without_passthrough: dict[str, Any] | None = None


class MessageEmitter:
    """Routes the events emitted for one delivery and settles it on the first ``end``."""

    def __init__(
        self,
        delivery: Delivery,
        *,
        publisher: Publisher,
        state: StepState,
        settings: Any,
        log: Any,
        settle: Callable[[bool], Awaitable[None]],
    ) -> None:
        self._delivery = delivery
        self._publisher = publisher
        self._state = state
        self._settings = settings
        self._log = log
        self._settle = settle
        self._tail: asyncio.Future[None] | None = None
        self.error_count = 0
        self.ended = False
        self._handlers: dict[str, Callable[[Any], Any]] = {
            "data": self._on_data,
            "error": self._on_error,
            "end": self._on_end,
            "rebound": self._on_rebound,
            "snapshot": self._on_snapshot,
            "updateSnapshot": self._on_update_snapshot,
            "updateKeys": self._on_update_keys,
            "httpReply": self._on_http_reply,
        }

    # --- scheduling ---------------------------------------------------------------

    def emit(self, event: str, payload: Any = None) -> asyncio.Future[None]:
        """Schedule ``event``; the returned future resolves when it has been handled.

        Must be called on the event loop thread.
        """
        previous = self._tail
        task = asyncio.get_running_loop().create_task(self._run_after(previous, event, payload))
        task.add_done_callback(_consume_exception)
        self._tail = task
        return task

    async def _run_after(
        self, previous: asyncio.Future[None] | None, event: str, payload: Any,
    ) -> None:
        if previous is not None and not previous.done():
            await asyncio.wait((previous,))
        await self.handle(event, payload)

    async def handle(self, event: str, payload: Any = None) -> None:
        handler = self._handlers.get(event)
        if handler is None:
            self._log.warning("Unknown event emitted by the component", event=str(event))
            return
        await handler(payload)

    async def run(self, event: str, payload: Any = None) -> None:
        """Handle ``event`` after every earlier emit, without scheduling a task."""
        await self.drain()
        await self.handle(event, payload)

    async def drain(self) -> None:
        """Wait until every emit scheduled so far has been handled."""
        if self._tail is not None and not self._tail.done():
            await asyncio.wait((self._tail,))

    # --- events -------------------------------------------------------------------

    async def _build_data_message(self, payload: Any) -> dict[str, Any]:
        """In Node's order: the inherited passthrough, then lightweight offloading (or inlining),
        then the step's own passthrough entry (docs/protocol.md#passthrough)."""
        if not isinstance(payload, Mapping):
            raise SailorError(
                f"Emitted data must be a message object, got {type(payload).__name__}")
        message = dict(payload)
        if not isinstance(message.get("headers"), Mapping):
            message["headers"] = {}
        if self._state.is_passthrough:
            message["passthrough"] = self._inherited_passthrough()
        if self._settings.emit_lightweight_message:
            await lightweight.offload_outgoing(
                message, self._state.bodies, self._settings.object_storage_size_threshold)
        elif lightweight.passthrough_to_inline(message):
            await lightweight.inline_passthrough(message, self._state.bodies)
        if self._state.is_passthrough and not self._settings.no_self_passthrough:
            own = {key: value for key, value in message.items() if key != "passthrough"}
            message["passthrough"][self._settings.step_id] = own
        return message

    def _inherited_passthrough(self) -> dict[str, Any]:
        """docs/protocol.md#passthrough: the incoming passthrough, plus (NO_SELF_PASSTRHOUGH) the
        upstream input."""
        delivery = self._delivery
        passthrough = dict(delivery.original_passthrough or {})
        if self._settings.no_self_passthrough:
            upstream_step = delivery.incoming.step_id
            if upstream_step is not None:
                passthrough[upstream_step] = delivery.original_without_passthrough
        return passthrough

    async def _on_data(self, payload: Any) -> None:
        # Failures become an `error` (docs/protocol.md#events): they count, the emit itself
        # succeeds.
        try:
            message = await self._build_data_message(payload)
            await self._publisher.publish_data(message, self._delivery.common_headers)
        except Exception as exc:  # noqa: BLE001 - every failure goes the error path
            await self._on_error(exc)

    async def _on_error(self, error: Any) -> None:
        self.error_count += 1
        delivery = self._delivery
        try:
            await self._publisher.publish_error(
                error,
                delivery.common_headers,
                error_input=self._publisher.error_input(
                    delivery.message.body, delivery.protocol_version),
                throttled=True,
            )
        except Exception as exc:  # noqa: BLE001 - nothing more to do than log it
            self._log.error("Failed to publish an error message", error=describe(exc))

    async def _on_end(self, _payload: Any = None) -> None:
        if self.ended:
            self._log.warning("processMessage emit end was called more than once")
            return
        self.ended = True
        # ack without errors, else reject; the executor also settles held duplicates
        await self._settle(not self.error_count)

    async def _on_rebound(self, reason: Any) -> None:
        """Rebound never counts as an error, not even above the limit (docs/protocol.md#rebound)."""
        delivery = self._delivery
        properties = delivery.message.header.properties
        iteration = Rebounds.done_of(properties.headers) + 1
        try:
            if iteration > self._settings.rebound_limit:
                await self._publisher.publish_error(
                    SailorError("Rebound limit exceeded"),
                    delivery.common_headers,
                    error_input=self._publisher.error_input(
                        delivery.message.body, delivery.protocol_version),
                    with_end=False,
                    send_reply=False,
                )
            else:
                await self._publisher.publish_rebound(
                    delivery.message.body, properties, iteration, reason)
        except Exception as exc:  # noqa: BLE001
            self._log.error("Failed to publish a rebound", error=describe(exc))

    async def _on_snapshot(self, snapshot: Any) -> None:
        self._state.snapshot = copy.deepcopy(snapshot)
        await self._publisher.publish_snapshot(snapshot, self._delivery.common_headers, "snapshot")

    async def _on_update_snapshot(self, update: Any) -> None:
        if not isinstance(update, Mapping):
            self._log.error("updateSnapshot expects an object")
            return
        if "$set" in update:
            self._log.warning("updateSnapshot with $set is not supported; nothing was updated")
            return
        if isinstance(self._state.snapshot, dict):
            self._state.snapshot.update(copy.deepcopy(dict(update)))
        else:
            self._state.snapshot = copy.deepcopy(dict(update))
        await self._publisher.publish_snapshot(
            update, self._delivery.common_headers, "updateSnapshot")

    async def _on_update_keys(self, keys: Any) -> None:
        api = self._state.platform_api
        if api is None:
            await self._on_error(SailorError("updateKeys is not available: no platform API"))
            return
        try:
            account_id = self._state.config.get("_account")
            await asyncio.to_thread(api.update_account_keys, account_id, keys)
        except Exception as exc:  # noqa: BLE001 - a failed update rejects the message
            self._log.error("Failed to update account keys", error=describe(exc))
            await self._on_error(exc)

    async def _on_http_reply(self, reply: Any) -> None:
        if not isinstance(reply, Mapping):
            raise SailorError("httpReply expects an object {statusCode, headers, body}")
        await self._publisher.publish_http_reply(reply, self._delivery.common_headers)


def _consume_exception(task: asyncio.Future[None]) -> None:
    """An emit nobody awaited must not end as 'exception was never retrieved'."""
    if not task.cancelled():
        task.exception()

