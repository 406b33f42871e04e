"""Lightweight messages (docs/protocol.md#object-storage): message bodies kept in the platform's
object storage.

A lightweight message carries ``{}`` as its body and the object's id in the message-level
header ``x-ipaas-object-storage-id``; the object holds the body's JSON, encrypted like a
message (docs/protocol.md#crypto), as raw bytes. HTTP runs on ``requests`` in worker threads
(``asyncio.to_thread``), never on the event loop. The bearer token is sent, never logged
and never part of an error message.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import requests

from .crypto import DecryptionError, MessageCipher
from .errors import SailorException
from .jsvalues import is_empty, stringify
from .retry import retry_call

OBJECT_ID_HEADER = "x-ipaas-object-storage-id"
# Node's client: 3 attempts on network errors and HTTP >= 500, ~100 ms then 200 ms apart.
RETRY_DELAYS_S = (0.1, 0.2)
REQUEST_TIMEOUT_S = 10.0
ACCEPT = "application/json, text/plain, */*"
UPLOAD_ERROR = "Lightweight message/passthrough body upload error"


class ObjectStorageError(SailorException):
    """A failed object-storage call; the text names the id or status, never the token.
    Published as ``name: "Error"``, like Node's errors."""

    error_name = "Error"


class ObjectStorage:
    """Client of ``{OBJECT_STORAGE_URI}/objects`` for one step."""

    def __init__(
        self,
        uri: str | None,
        token: str | None,
        cipher: MessageCipher,
        *,
        flow_id: str,
        step_id: str,
        timeout_s: float = REQUEST_TIMEOUT_S,
        retry_delays_s: tuple[float, ...] = RETRY_DELAYS_S,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._base = (uri or "").rstrip("/")
        self._token = token or ""
        self._cipher = cipher
        self._request_id = f"f:{flow_id};s:{step_id};m:"
        self._timeout_s = timeout_s
        self._retry_delays_s = retry_delays_s
        self._sleep = sleep
        self._local = threading.local()  # one Session per thread: Session is not thread-safe

    # --- async API (event loop) ------------------------------------------------------

    async def fetch_body(self, object_id: str) -> Any:
        return await asyncio.to_thread(self.get_body, object_id)

    async def upload_body(self, body: Any) -> str:
        return await asyncio.to_thread(self.post_body, body)

    # --- sync API (worker threads) ---------------------------------------------------

    def get_body(self, object_id: str) -> Any:
        """``GET /objects/<id>``, decrypted and parsed."""
        response = self._request("GET", f"/objects/{quote(str(object_id), safe='')}")
        try:
            return json.loads(self._cipher.decrypt(response.content))
        except (DecryptionError, ValueError) as exc:
            raise ObjectStorageError(f"object {object_id} is not an encrypted JSON body") from exc

    def post_body(self, body: Any) -> str:
        """``POST /objects`` with the encrypted JSON of ``body``; returns the new object id."""
        ciphertext = self._cipher.encrypt(stringify(body))
        response = self._request("POST", "/objects", ciphertext)
        try:
            object_id = response.json().get("objectId")
        except (ValueError, AttributeError) as exc:
            raise ObjectStorageError("the upload answer is not a JSON object") from exc
        if not object_id or not isinstance(object_id, str):
            raise ObjectStorageError("the upload answer has no objectId")
        return object_id

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def _request(self, method: str, path: str, data: bytes | None = None) -> requests.Response:
        if not self._base:
            raise ObjectStorageError("ELASTICIO_OBJECT_STORAGE_URI is not set")
        headers = {
            "Authorization": f"Bearer {self._token}",
            "x-request-id": self._request_id,
            "Accept": ACCEPT,
        }
        if data is not None:
            headers["Content-Type"] = "application/json"  # what Node's client sends
        url = self._base + path

        def attempt() -> requests.Response:
            try:
                response = self._session().request(
                    method, url, data=data, headers=headers, timeout=self._timeout_s,
                    allow_redirects=False)
            except requests.RequestException as exc:
                raise _RetryableError(f"{method} {path} failed: {type(exc).__name__}") from None
            if response.status_code < 300:
                return response
            failure = f"{method} {path} answered HTTP {response.status_code}"
            if response.status_code >= 500:
                raise _RetryableError(failure)
            raise ObjectStorageError(failure)

        try:
            return retry_call(
                attempt, attempts=len(self._retry_delays_s) + 1,
                delay_s=lambda retry: self._retry_delays_s[retry],
                retryable=lambda error: isinstance(error, _RetryableError), sleep=self._sleep)
        except _RetryableError as exc:
            raise ObjectStorageError(str(exc)) from None


class _RetryableError(Exception):
    """A network error or an HTTP >= 500 answer: worth another attempt."""


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


async def _fetch_or_fail(storage: ObjectStorage, object_id: str) -> Any:
    try:
        return await storage.fetch_body(object_id)
    except ObjectStorageError as exc:
        raise ObjectStorageError(f"Failed to get message body with id={object_id}") from exc


async def resolve_incoming(payload: dict[str, Any], storage: ObjectStorage) -> None:
    """docs/protocol.md#incoming-references: replace the body of the message and of each passthrough
    entry that refers to an object by the stored body (the id header stays). Raises
    ``ObjectStorageError("Failed to get message body with id=<id>")``."""
    targets: list[dict[str, Any]] = [payload]
    passthrough = payload.get("passthrough")
    if isinstance(passthrough, dict):
        targets.extend(entry for entry in passthrough.values() if isinstance(entry, dict))
    pending = [(target, object_id) for target in targets
               if (object_id := object_id_of(target))]
    bodies = await asyncio.gather(
        *(_fetch_or_fail(storage, object_id) for _, object_id in pending))
    for (target, _), body in zip(pending, bodies, strict=True):
        target["body"] = body


def _json_size(value: Any) -> int:
    return len(stringify(value).encode("utf-8"))


async def offload_outgoing(
    message: dict[str, Any], storage: ObjectStorage, threshold: int,
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
        return object_id_of(entry) or await storage.upload_body(entry.get("body"))

    try:
        body_id, *entry_ids = await asyncio.gather(
            storage.upload_body(message.get("body")),
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


async def inline_passthrough(message: dict[str, Any], storage: ObjectStorage) -> None:
    """docs/protocol.md#outgoing-bodies, ``EMIT_LIGHTWEIGHT_MESSAGE`` off: download the body of
    every passthrough entry that has an object id and an empty body."""
    passthrough = dict(message["passthrough"])
    pending = [(step, object_id) for step, entry in passthrough.items()
               if (object_id := object_id_of(entry)) and is_empty(entry.get("body"))]
    bodies = await asyncio.gather(
        *(_fetch_or_fail(storage, object_id) for _, object_id in pending))
    for (step, _), body in zip(pending, bodies, strict=True):
        passthrough[step] = {**passthrough[step], "body": body}
    message["passthrough"] = passthrough
