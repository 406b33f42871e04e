"""Builds and publishes every kind of outgoing message (docs/protocol.md#outgoing-messages).

One ``Publisher`` per process. It knows the framing and header rules of each message
type; what to publish when is the emitter's business (``emitter.py``).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from pamqp.commands import Basic

from .amqp import AmqpClient, copy_properties
from .context import Rebounds
from .crypto import MessageCipher
from .error_payload import normalize_error
from .errors import SailorError
from .headers import ERROR_RESPONSE_HEADER, init_error_headers, now_ms, pop_routing_key
from .jsvalues import stringify
from .log import TRACE, get_logger
from .rate_limit import Throttles
from .settings import TaskSettings


class OutgoingSizeError(SailorError):
    pass


class Publisher:
    def __init__(self, settings: TaskSettings, cipher: MessageCipher, amqp: AmqpClient) -> None:
        self._settings = settings
        self._cipher = cipher
        self._amqp = amqp
        self._throttles = Throttles.from_settings(settings)
        self._log = get_logger("sailor")

    async def _publish(
        self, routing_key: str, body: bytes, headers: dict[str, Any],
        properties: Basic.Properties | None = None,
    ) -> None:
        """Every publish goes here: a trace record (never the body, docs/protocol.md#secrets), then
        AMQP."""
        if self._log.enabled_for(TRACE):
            self._log.trace("Pushing to exchange",
                            exchange=self._settings.broker.publish_messages_to,
                            routingKey=routing_key, messageSize=len(body), headers=headers)
        await self._amqp.publish(routing_key, body, headers, properties=properties)

    # --- data --------------------------------------------------------------------

    async def publish_data(self, message: dict[str, Any], common: Mapping[str, Any]) -> None:
        """``message`` is final (headers defaulted, passthrough applied) apart from routing."""
        settings = self._settings
        message_headers = dict(message.get("headers") or {})
        routing_key = pop_routing_key(message_headers) or settings.broker.data_routing_key
        message["headers"] = message_headers
        body = self._cipher.encode_frame(stringify(message), settings.protocol_version)
        self._check_size(body)
        await self._throttles.data.wait()
        # Deviation from Node (docs/protocol.md#deviation-end-header-after-throttle): `end`
        # is taken after the throttle's wait, i.e. at publish time; Node takes it before.
        headers = dict(common)
        headers["end"] = now_ms()
        headers["messageId"] = message.get("id") or common["messageId"]
        headers["protocolVersion"] = settings.protocol_version
        await self._publish(routing_key, body, headers)

    def _check_size(self, body: bytes) -> None:
        limit = self._settings.outgoing_message_size_limit
        if len(body) > limit:
            raise OutgoingSizeError(f"Outgoing message size {len(body)} exceeds limit of {limit}.")

    # --- errors ------------------------------------------------------------------

    def error_input(self, raw_body: bytes, protocol_version: int) -> str:
        """``errorInput``: base64 ciphertext of the payload as received
        (docs/protocol.md#error-messages).

        For version 2 Node re-encrypts the decrypted payload; with the fixed IV that is
        exactly the received ciphertext, so encoding the raw bytes gives the same text.
        """
        if protocol_version >= 2:
            return base64.b64encode(raw_body).decode("ascii")
        return raw_body.decode("utf-8", "replace")

    async def publish_error(
        self,
        error: Any,
        common: Mapping[str, Any],
        *,
        error_input: str | None,
        with_end: bool = True,
        send_reply: bool = True,
        throttled: bool = False,
    ) -> None:
        """Error envelope on ERROR_ROUTING_KEY, plus the error reply to ``reply_to``.

        ``throttled``: errors emitted through the emitter wait for ERROR_RATE_LIMIT (the
        reply does not); errors the sailor reports outside the emitter do not wait.
        """
        encrypted_error = self._encrypted_error(error)
        headers = dict(common)
        if with_end:
            headers["end"] = now_ms()
        reply_to = headers.get("reply_to")
        if send_reply and reply_to and not self._settings.no_error_replies:
            reply_headers = dict(headers)
            reply_headers[ERROR_RESPONSE_HEADER] = True
            await self._publish(reply_to, encrypted_error.encode("ascii"), reply_headers)
        envelope: dict[str, str] = {"error": encrypted_error}
        if error_input is not None:
            envelope["errorInput"] = error_input
        if throttled:
            await self._throttles.error.wait()
        await self._publish(
            self._settings.broker.error_routing_key, stringify(envelope).encode("utf-8"), headers)

    def _encrypted_error(self, error: Any) -> str:
        """The error payload, encrypted, as base64 text."""
        return self._cipher.encrypt_b64(stringify(normalize_error(error))).decode("ascii")

    async def publish_init_error(self, error: BaseException) -> None:
        """The start-up failure report (docs/protocol.md#start-up-failure-report): no errorInput, no
        reply."""
        encrypted_error = self._encrypted_error(error)
        await self._publish(
            self._settings.broker.error_routing_key,
            stringify({"error": encrypted_error}).encode("utf-8"),
            init_error_headers(self._settings),
        )

    # --- rebound -----------------------------------------------------------------

    async def publish_rebound(
        self, raw_body: bytes, properties: Basic.Properties, iteration: int, reason: Any,
    ) -> None:
        """Re-publish the original bytes and properties with a longer TTL
        (docs/protocol.md#rebound)."""
        settings = self._settings
        headers = dict(properties.headers or {})
        headers["end"] = now_ms()
        headers["reboundReason"] = normalize_error(reason)["message"]
        headers["reboundIteration"] = iteration
        expiration = Rebounds(first_delay_ms=settings.rebound_initial_expiration_ms).delay_ms(
            iteration)
        rebound_properties = copy_properties(
            properties, headers=headers, delivery_mode=settings.delivery_mode,
            expiration=str(expiration))
        await self._publish(
            settings.broker.rebound_routing_key, raw_body, headers, properties=rebound_properties)

    # --- snapshot and httpReply --------------------------------------------------

    async def publish_snapshot(
        self, snapshot: Any, common: Mapping[str, Any], event: str,
    ) -> None:
        """Plain JSON, not encrypted (docs/protocol.md#snapshot); only ``snapshot`` waits for its
        throttle."""
        headers = dict(common)
        headers["snapshotEvent"] = event
        if event == "snapshot":
            await self._throttles.snapshot.wait()
        await self._publish(
            self._settings.broker.snapshot_routing_key, stringify(snapshot).encode("utf-8"),
            headers)

    async def publish_http_reply(self, reply: Mapping[str, Any], common: Mapping[str, Any]) -> None:
        reply_to = common.get("reply_to")
        if not reply_to:
            raise SailorError(
                "Component emitted 'httpReply' event but 'reply_to' was not found in AMQP headers")
        reply = dict(reply)
        if isinstance(reply.get("headers"), Mapping):
            reply_headers = dict(reply["headers"])
            pop_routing_key(reply_headers)
            reply["headers"] = reply_headers
        body = self._cipher.encrypt_b64(stringify(reply))
        self._check_size(body)
        headers = dict(common)
        headers["protocolVersion"] = 1
        await self._publish(reply_to, body, headers)
