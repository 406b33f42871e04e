"""AMQP for task mode (docs/protocol.md#amqp): a read connection that consumes, a write connection
that publishes with confirms. The sailor declares nothing; every name comes from the settings.

Both survive the broker closing them: the consumer is started again on a new channel
(and connection) when its channel closes or the broker cancels it, and a publish on a
lost connection is retried on a new one.

The broker URI carries credentials: it is never logged, and connection errors are
reported by type only.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import aiormq
from aiormq.abc import AbstractChannel, AbstractConnection, DeliveredMessage
from pamqp.commands import Basic
from pamqp.common import FieldTable

from .errors import SailorException, describe
from .retry import retry_async
from .settings import TaskSettings

CONTENT_TYPE = "application/json"
CONTENT_ENCODING = "utf8"
# What a connect (or a consume on a new connection) may fail with and is tried again for
_CONNECT_ERRORS: tuple[type[Exception], ...] = (
    TimeoutError, OSError, aiormq.exceptions.AMQPError)

T = TypeVar("T")

DeliveryCallback = Callable[[DeliveredMessage], Coroutine[Any, Any, None]]


class _NoMessageId(str):
    """An empty ``message_id`` that still counts as set.

    aiormq stamps a random AMQP ``message_id`` on every publish that has none, but the platform's
    messages carry no ``message_id`` property (docs/protocol.md#publishing). This value is truthy
    (so aiormq keeps it) and equal to ``""`` (so pamqp leaves the property out of the frame).
    """

    __slots__ = ()

    def __bool__(self) -> bool:
        return True


NO_MESSAGE_ID = _NoMessageId("")


class AmqpError(SailorException):
    """A connection or publish failure; the message never contains the broker URI."""


class PublishFailedError(AmqpError):
    pass


def delivery_tag_of(message: DeliveredMessage) -> int:
    """The tag that settles a consumed message (aiormq types every method frame alike)."""
    tag = getattr(message.delivery, "delivery_tag", None)
    if not isinstance(tag, int):
        raise AmqpError(f"{type(message.delivery).__name__} carries no delivery tag")
    return tag


def is_redelivered(message: DeliveredMessage) -> bool:
    """The broker's ``redelivered`` flag of a consumed message."""
    return bool(getattr(message.delivery, "redelivered", False))


async def _open_publish_channel(connection: AbstractConnection) -> aiormq.Channel:
    """A channel in confirm mode; aiormq's own class, whose ``basic_publish`` takes ``wait``."""
    channel = await connection.channel(publisher_confirms=True)
    if not isinstance(channel, aiormq.Channel):
        raise AmqpError(f"unexpected channel type {type(channel).__name__}")
    return channel


class AmqpClient:
    """The two connections of a task-mode sailor and what it does with them."""

    def __init__(self, settings: TaskSettings, log: Any) -> None:
        self._settings = settings
        self._log = log
        self._read_connection: AbstractConnection | None = None
        self._write_connection: AbstractConnection | None = None
        self._consume_channel: AbstractChannel | None = None
        self._publish_channel: aiormq.Channel | None = None
        self._publish_channel_lock = asyncio.Lock()
        self._consumer_tag: str | None = None
        self._queue = ""
        self._on_delivery: DeliveryCallback | None = None
        self._consumer_watch: asyncio.Task[None] | None = None
        self._stopping = False

    # --- connections -------------------------------------------------------------

    async def _connect(self, role: str) -> AbstractConnection:
        """A connection named ``<host>-<role>``, with the reconnect retries."""
        properties: FieldTable = {"connection_name": f"{socket.gethostname()}-{role}"}

        def log_failure(attempt: int, error: Exception) -> None:
            self._log.warning("AMQP connection attempt failed", role=role,
                              attempt=attempt, error=describe(error))

        try:
            return await self._with_reconnect_retries(
                lambda: aiormq.connect(self._settings.broker.amqp_uri,
                                       client_properties=properties),
                _CONNECT_ERRORS, log_failure)
        except _CONNECT_ERRORS as exc:
            raise AmqpError(f"Failed to connect to AMQP ({role}): {describe(exc)}") from None

    async def _with_reconnect_retries(
        self, call: Callable[[], Awaitable[T]], errors: tuple[type[Exception], ...],
        on_failure: Callable[[int, Exception], None],
    ) -> T:
        """1 + AMQP_RECONNECT_ATTEMPTS attempts, AMQP_RECONNECT_TIMEOUT ms apart."""
        return await retry_async(
            call, attempts=1 + max(self._settings.amqp_reconnect_attempts, 0),
            delay_s=self._settings.amqp_reconnect_timeout_ms / 1000,
            retryable=lambda error: isinstance(error, errors), on_failure=on_failure,
            sleep=asyncio.sleep)

    async def connect(self) -> None:
        self._read_connection = await self._connect("read")
        self._write_connection = await self._connect("write")
        self._consume_channel = await self._read_connection.channel(publisher_confirms=False)
        await self._consume_channel.basic_qos(prefetch_count=self._settings.prefetch)
        self._publish_channel = await _open_publish_channel(self._write_connection)

    async def close(self) -> None:
        """Close the consumer channel, the publish channel, then both connections."""
        for channel in (self._consume_channel, self._publish_channel):
            if channel is not None and not channel.is_closed:
                await channel.close()
        for connection in (self._read_connection, self._write_connection):
            if connection is not None and not connection.is_closed:
                await connection.close()

    # --- consuming ---------------------------------------------------------------

    async def consume(
        self, queue: str, on_delivery: DeliveryCallback,
        on_lost: Callable[[], None] | None = None,
    ) -> None:
        """Start consuming with manual acks; ``on_delivery`` must not block.

        The consumer is kept alive (docs/protocol.md#consuming): when its channel or connection
        closes, or the broker cancels it, the queue is consumed again on a new channel. When that
        fails 1 + AMQP_RECONNECT_ATTEMPTS times, ``on_lost`` is called.
        """
        self._queue = queue
        self._on_delivery = on_delivery
        lost = await self._start_consumer()
        self._consumer_watch = asyncio.create_task(self._keep_consuming(lost, on_lost))

    async def _start_consumer(self) -> asyncio.Event:
        """basic.consume on a usable channel; the event is set when this consumer is lost."""
        channel = self._consume_channel
        if channel is None or channel.is_closed:
            connection = self._read_connection
            if connection is None or connection.is_closed:
                connection = self._read_connection = await self._connect("read")
            channel = await connection.channel(publisher_confirms=False)
            await channel.basic_qos(prefetch_count=self._settings.prefetch)
            self._consume_channel = channel
        lost = asyncio.Event()
        channel.closing.add_done_callback(lambda _closed: lost.set())

        def on_cancel(frame: Basic.Cancel) -> None:
            if frame.consumer_tag == self._consumer_tag:
                lost.set()

        channel.on_consumer_cancel_callbacks.add(on_cancel)
        assert self._on_delivery is not None
        result = await channel.basic_consume(self._queue, self._on_delivery, no_ack=False)
        self._consumer_tag = result.consumer_tag
        return lost

    async def _keep_consuming(
        self, lost: asyncio.Event, on_lost: Callable[[], None] | None,
    ) -> None:
        # Deviation from Node (docs/protocol.md#deviation-consumer-cancel): Node only logs a
        # broker-side consumer cancel and stays idle; here a cancel is handled like a closed
        # channel: consume again, or (when that keeps failing) stop with a non-zero exit code so
        # that the platform restarts the pod.
        while True:
            await lost.wait()
            if self._stopping:
                return
            self._log.warning("The consumer was lost (channel closed or consumer cancelled); "
                              "consuming again")
            try:
                lost = await self._restart_consumer()
            except AmqpError as exc:
                self._log.fatal(str(exc))
                if on_lost is not None:
                    on_lost()
                return
            self._log.info("Consuming again")

    async def _restart_consumer(self) -> asyncio.Event:
        def log_failure(attempt: int, error: Exception) -> None:
            self._log.warning("Consuming again failed", attempt=attempt, error=describe(error))

        errors: tuple[type[Exception], ...] = (*_CONNECT_ERRORS, AmqpError)
        try:
            return await self._with_reconnect_retries(self._start_consumer, errors, log_failure)
        except errors as exc:
            raise AmqpError(
                f"Failed to consume the input queue again: {describe(exc)}") from None

    async def stop_consuming(self) -> None:
        """Cancel the consumer for good: no new deliveries, no more re-consuming."""
        self._stopping = True
        watch = self._consumer_watch
        if watch is not None and not watch.done():
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch
        channel, tag = self._consume_channel, self._consumer_tag
        self._consumer_tag = None
        if channel is not None and tag is not None and not channel.is_closed:
            await channel.basic_cancel(tag)

    @staticmethod
    async def ack(message: DeliveredMessage) -> None:
        # wait=False: the frame is queued in order (before any later close), there is
        # nothing to gain from waiting for the socket write of every ack.
        await message.channel.basic_ack(delivery_tag_of(message), wait=False)

    @staticmethod
    async def reject(message: DeliveredMessage) -> None:
        """Reject without requeue: the sailor never requeues (docs/protocol.md#settlement)."""
        await message.channel.basic_reject(
            delivery_tag_of(message), requeue=False, wait=False)

    # --- publishing --------------------------------------------------------------

    def properties(self, headers: dict[str, Any]) -> Basic.Properties:
        """The basic properties of every message the sailor builds itself
        (docs/protocol.md#publishing)."""
        return Basic.Properties(
            content_type=CONTENT_TYPE,
            content_encoding=CONTENT_ENCODING,
            headers=headers,
            delivery_mode=self._settings.delivery_mode,
            message_id=NO_MESSAGE_ID,
        )

    async def _channel_for_publish(self) -> aiormq.Channel:
        """The publish channel, re-created lazily when it (or its connection) closed."""
        channel = self._publish_channel
        if channel is not None and not channel.is_closed:
            return channel
        async with self._publish_channel_lock:
            if self._publish_channel is not None and not self._publish_channel.is_closed:
                return self._publish_channel
            if self._write_connection is None or self._write_connection.is_closed:
                self._write_connection = await self._connect("write")
            self._publish_channel = await _open_publish_channel(self._write_connection)
            return self._publish_channel

    async def publish(
        self,
        routing_key: str,
        body: bytes,
        headers: dict[str, Any],
        *,
        properties: Basic.Properties | None = None,
    ) -> None:
        """Publish to PUBLISH_MESSAGES_TO and wait for the broker's confirm.

        A nack or a failed publish is retried after ``min(delay * 2^n, max)`` ms with a
        ``retry: n`` header, on a new connection when the old one was lost; a channel
        closed on a live connection fails at once (docs/protocol.md#publishing).
        """
        settings = self._settings
        props = properties if properties is not None else self.properties(headers)
        attempt = 0
        error: BaseException
        # Not retry_async: unlimited by default, each retry changes the message (``retry: n``).
        while True:
            try:
                channel = await self._channel_for_publish()
                # wait=False: no drain future and no writer.drain() per publish; the
                # confirm, awaited here, comes after the write anyway, and it fails
                # like the drain would when the channel or connection is lost.
                await channel.basic_publish(
                    body,
                    exchange=settings.broker.publish_messages_to,
                    routing_key=routing_key,
                    properties=props,
                    mandatory=True,
                    wait=False,
                )
                return  # noqa: TRY300 - the retry loop needs the return inside the try
            except (aiormq.exceptions.ChannelInvalidStateError,
                    aiormq.exceptions.ChannelClosed) as exc:
                if not self._write_connection_lost():
                    raise PublishFailedError(
                        f"Failed on publishing {headers.get('messageId')} message to MQ: "
                        f"{describe(exc)}") from exc
                # Deviation from Node (docs/protocol.md#deviation-publish-channel-lost): Node fails
                # at once on any closed channel; a channel closed because its connection was lost is
                # retried on a new connection, like the connection errors below, so that the output
                # is not lost.
                error = exc
            except (aiormq.exceptions.DeliveryError, aiormq.exceptions.AMQPError,
                    AmqpError, OSError) as exc:
                error = exc
            attempt += 1
            limit = settings.amqp_publish_retry_attempts
            if limit is not None and attempt >= limit:
                raise PublishFailedError(
                    f"Failed on publishing {headers.get('messageId')} message to MQ: "
                    f"{describe(error)}") from error
            delay_ms = min(settings.amqp_publish_retry_delay_ms * 2 ** (attempt - 1),
                           settings.amqp_publish_max_retry_delay_ms)
            self._log.warning("Publish failed, retrying", routingKey=routing_key,
                              attempt=attempt, error=describe(error))
            await asyncio.sleep(delay_ms / 1000)
            props = _with_retry_header(props, attempt)

    def _write_connection_lost(self) -> bool:
        connection = self._write_connection
        return connection is None or connection.is_closed


def copy_properties(props: Basic.Properties, **changes: Any) -> Basic.Properties:
    """``props`` with ``changes`` applied (a missing message id stays suppressed)."""
    fields = {name: getattr(props, name) for name in Basic.Properties.attributes()}
    fields.update(changes)
    fields["message_id"] = fields["message_id"] or NO_MESSAGE_ID
    return Basic.Properties(**fields)


def _with_retry_header(props: Basic.Properties, attempt: int) -> Basic.Properties:
    return copy_properties(props, headers={**(props.headers or {}), "retry": attempt})
