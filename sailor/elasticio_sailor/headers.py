"""Outgoing AMQP header rules (docs/protocol.md#common-headers). Pure functions, no I/O.

Header values keep their Python types: ``int`` goes out as an AMQP integer, ``str`` as a
long string, ``bool`` as a boolean (docs/protocol.md#publishing: numbers must never become strings).
``None`` values are dropped, as Node drops ``undefined``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .settings import TaskSettings

META_PREFIX = "x-eio-meta-"
TRACE_ID_HEADER = "x-eio-meta-trace-id"
ROUTING_KEY_HEADER = "x-eio-routing-key"
ERROR_RESPONSE_HEADER = "x-eio-error-response"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


_UUID_CLEAR = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)  # version 4, RFC 4122 variant


def new_message_id() -> str:
    """``str(uuid.uuid4())`` (the same 16 random bytes and bits) without the ``UUID`` object."""
    text = "%032x" % (int.from_bytes(os.urandom(16)) & _UUID_CLEAR | _UUID4_SET)
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def as_text(value: Any) -> Any:
    """AMQP long strings may arrive as bytes when they are not valid UTF-8."""
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    return value


def protocol_version_of(amqp_headers: Mapping[str, Any] | None) -> int:
    """``Number(headers.protocolVersion || 1)``: a string "2" counts, garbage means 1."""
    raw = as_text((amqp_headers or {}).get("protocolVersion"))
    if not raw:
        return 1
    try:
        return int(raw)
    except (TypeError, ValueError):
        try:
            return int(float(raw))
        except (TypeError, ValueError):
            return 1


@dataclass(frozen=True)
class IncomingIds:
    """What a delivery's headers contribute to everything emitted for it
    (docs/protocol.md#incoming-headers)."""

    thread_id: str
    message_id: str | None
    parent_message_id: str | None
    step_id: str | None
    reply_to: str | None
    meta: tuple[tuple[str, Any], ...]


def read_incoming(amqp_headers: Mapping[str, Any] | None) -> IncomingIds:
    headers = amqp_headers or {}
    meta = tuple(
        (name.lower(), as_text(value))
        for name, value in headers.items()
        if name.lower().startswith(META_PREFIX) and value is not None
    )
    thread_id = as_text(headers.get("threadId")) or dict(meta).get(TRACE_ID_HEADER)
    # One fallback id for headers and logs alike (docs/protocol.md#deviation-one-thread-id)
    return IncomingIds(
        thread_id=thread_id or new_message_id(),
        message_id=as_text(headers.get("messageId")) or None,
        parent_message_id=as_text(headers.get("parentMessageId")) or None,
        step_id=as_text(headers.get("stepId")) or None,
        reply_to=as_text(headers.get("reply_to")) or None,
        meta=meta,
    )


def _step_identity(settings: TaskSettings) -> dict[str, Any]:
    return {
        "execId": settings.exec_id,
        "taskId": settings.flow_id,
        "workspaceId": settings.workspace_id,
        "containerId": settings.container_id,
        "userId": settings.user_id,
        "stepId": settings.step_id,
        "compId": settings.comp_id,
        "function": settings.function,
    }


def common_headers(settings: TaskSettings, incoming: IncomingIds, start_ms: int) -> dict[str, Any]:
    """Headers shared by data, error, snapshot and httpReply messages
    (docs/protocol.md#common-headers).

    Insertion order is the Node sailor's: incoming ids first, then the additional vars,
    then the step's own identity (later keys win).
    """
    headers: dict[str, Any] = {}
    if incoming.step_id is not None:
        headers["stepId"] = incoming.step_id
    headers.update(incoming.meta)
    headers["threadId"] = incoming.thread_id
    headers["messageId"] = incoming.message_id
    headers["parentMessageId"] = incoming.parent_message_id
    if incoming.reply_to is not None:
        headers["reply_to"] = incoming.reply_to
    headers.update(settings.additional_headers)
    headers["parentMessageId"] = incoming.message_id
    headers["threadId"] = incoming.thread_id
    headers["messageId"] = new_message_id()
    headers.update(_step_identity(settings))
    headers["start"] = start_ms
    return without_none(headers)


def init_error_headers(settings: TaskSettings) -> dict[str, Any]:
    """Headers of the start-up failure report (docs/protocol.md#start-up-failure-report): no thread,
    no times."""
    headers: dict[str, Any] = dict(settings.additional_headers)
    headers.update(_step_identity(settings))
    headers["messageId"] = new_message_id()
    return headers


def without_none(headers: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in headers.items() if value is not None}


def pop_routing_key(message_headers: dict[str, Any]) -> str | None:
    """Remove every ``x-eio-routing-key`` (any case) from a message's headers; return its value."""
    found = None
    for name in [n for n in message_headers if n.lower() == ROUTING_KEY_HEADER]:
        found = message_headers.pop(name)
    return found
