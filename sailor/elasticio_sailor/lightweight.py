"""Lightweight messages (docs/protocol.md#object-storage): message bodies kept in the platform's
object storage.

A lightweight message carries ``{}`` as its body and the object's id in the message-level
header ``x-ipaas-object-storage-id``; the object holds the body's JSON, encrypted like a
message (docs/protocol.md#crypto), as raw bytes. The HTTP side is ``object_storage.py``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

from .crypto import DecryptionError, MessageCipher
from .jsvalues import is_empty, stringify
from .object_storage import ObjectStorage, ObjectStorageError, ObjectTooLargeError
from .settings import DEFAULT_OBJECT_STORAGE_BODY_SIZE_LIMIT

OBJECT_ID_HEADER = "x-ipaas-object-storage-id"
UPLOAD_ERROR = "Lightweight message/passthrough body upload error"
# What Node's client sends with a body (its content sniffing falls back to JSON).
BODY_CONTENT_TYPE = "application/json"
MAX_BODY_SETTING = "ELASTICIO_OBJECT_STORAGE_BODY_SIZE_LIMIT"


class BodyStore:
    """Message bodies as encrypted objects of the step's object storage."""

    def __init__(self, storage: ObjectStorage, cipher: MessageCipher, *,
                 max_body_bytes: int = DEFAULT_OBJECT_STORAGE_BODY_SIZE_LIMIT) -> None:
        self._storage = storage
        self._cipher = cipher
        self._max_body_bytes = max_body_bytes

    # --- async API (event loop) ------------------------------------------------------

    async def fetch_body(self, object_id: str) -> Any:
        return await asyncio.to_thread(self.get_body, object_id)

    async def upload_body(self, body: Any) -> str:
        return await asyncio.to_thread(self.post_body, body)

    # --- sync API (worker threads) ---------------------------------------------------

    def get_body(self, object_id: str) -> Any:
        """``GET /objects/<id>``, decrypted and parsed; a stored body larger than the cap is
        refused without reading it whole."""
        try:
            content = self._storage.get_object(object_id, max_bytes=self._max_body_bytes)
        except ObjectTooLargeError as exc:
            raise ObjectStorageError(
                f"message body {object_id} is larger than the limit of {exc.limit} bytes "
                f"(set {MAX_BODY_SETTING} to accept larger ones)") from exc
        try:
            return json.loads(self._cipher.decrypt(content))
        except (DecryptionError, ValueError) as exc:
            raise ObjectStorageError(f"object {object_id} is not an encrypted JSON body") from exc

    def post_body(self, body: Any) -> str:
        """``POST /objects`` with the encrypted JSON of ``body``; returns the new object id."""
        ciphertext = self._cipher.encrypt(stringify(body))
        return self._storage.post_object(
            lambda: ciphertext, content_type=BODY_CONTENT_TYPE, replayable=True)


# --- what the executor and the emitter do with it ---------------------------------------


def object_id_of(message: Any) -> str | None:
    """The object id of a message or passthrough entry, if it is lightweight."""
    if not isinstance(message, Mapping):
        return None
    headers = message.get("headers")
    if not isinstance(headers, Mapping):
        return None
    return headers.get(OBJECT_ID_HEADER) or None


def has_references(payload: Mapping[str, Any]) -> bool:
    """Cheap test whether an incoming payload needs :func:`resolve_incoming`."""
    if object_id_of(payload):
        return True
    passthrough = payload.get("passthrough")
    return isinstance(passthrough, Mapping) and any(
        object_id_of(entry) for entry in passthrough.values())


async def _fetch_or_fail(bodies: BodyStore, object_id: str) -> Any:
    try:
        return await bodies.fetch_body(object_id)
    except ObjectStorageError as exc:
        raise ObjectStorageError(f"Failed to get message body with id={object_id}") from exc


async def resolve_incoming(payload: dict[str, Any], bodies: BodyStore) -> None:
    """docs/protocol.md#incoming-references: replace the body of the message and of each passthrough
    entry that refers to an object by the stored body (the id header stays). Raises
    ``ObjectStorageError("Failed to get message body with id=<id>")``."""
    targets: list[dict[str, Any]] = [payload]
    passthrough = payload.get("passthrough")
    if isinstance(passthrough, dict):
        targets.extend(entry for entry in passthrough.values() if isinstance(entry, dict))
    pending = [(target, object_id) for target in targets
               if (object_id := object_id_of(target))]
    fetched = await asyncio.gather(
        *(_fetch_or_fail(bodies, object_id) for _, object_id in pending))
    for (target, _), body in zip(pending, fetched, strict=True):
        target["body"] = body


def _json_size(value: Any) -> int:
    return len(stringify(value).encode("utf-8"))


async def offload_outgoing(
    message: dict[str, Any], bodies: BodyStore, threshold: int,
) -> None:
    """docs/protocol.md#outgoing-bodies, ``EMIT_LIGHTWEIGHT_MESSAGE`` on: above ``threshold`` bytes
    (body plus passthrough bodies), upload the body and every passthrough body that has no object
    yet, and replace each by ``{}`` with the id header. Raises ``ObjectStorageError`` with the Node
    error text on any upload failure."""
    passthrough = message.get("passthrough")
    entries = {
        step: entry for step, entry in (passthrough or {}).items() if isinstance(entry, Mapping)
    } if isinstance(passthrough, Mapping) else {}
    total = _json_size(message.get("body")) + sum(
        _json_size(entry.get("body")) for entry in entries.values())
    if total <= threshold:
        return

    async def entry_id(entry: Mapping[str, Any]) -> str:
        return object_id_of(entry) or await bodies.upload_body(entry.get("body"))

    try:
        body_id, *entry_ids = await asyncio.gather(
            bodies.upload_body(message.get("body")),
            *(entry_id(entry) for entry in entries.values()))
    except ObjectStorageError as exc:
        raise ObjectStorageError(UPLOAD_ERROR) from exc
    message["body"] = {}
    message["headers"] = {**(message.get("headers") or {}), OBJECT_ID_HEADER: body_id}
    if entries:
        new_passthrough = dict(passthrough)  # type: ignore[arg-type]
        for (step, entry), object_id in zip(entries.items(), entry_ids, strict=True):
            new_passthrough[step] = {
                **entry, "body": {},
                "headers": {**(entry.get("headers") or {}), OBJECT_ID_HEADER: object_id},
            }
        message["passthrough"] = new_passthrough


def passthrough_to_inline(message: Mapping[str, Any]) -> bool:
    """Cheap test whether :func:`inline_passthrough` has anything to do."""
    passthrough = message.get("passthrough")
    return isinstance(passthrough, Mapping) and any(
        object_id_of(entry) and is_empty(entry.get("body")) for entry in passthrough.values())


async def inline_passthrough(message: dict[str, Any], bodies: BodyStore) -> None:
    """docs/protocol.md#outgoing-bodies, ``EMIT_LIGHTWEIGHT_MESSAGE`` off: download the body of
    every passthrough entry that has an object id and an empty body."""
    passthrough = dict(message["passthrough"])
    pending = [(step, object_id) for step, entry in passthrough.items()
               if (object_id := object_id_of(entry)) and is_empty(entry.get("body"))]
    fetched = await asyncio.gather(
        *(_fetch_or_fail(bodies, object_id) for _, object_id in pending))
    for (step, _), body in zip(pending, fetched, strict=True):
        passthrough[step] = {**passthrough[step], "body": body}
    message["passthrough"] = passthrough
