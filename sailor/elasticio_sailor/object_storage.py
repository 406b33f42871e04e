"""The platform's object storage ("maester", docs/protocol.md#object-storage): its HTTP client.

``POST {uri}/objects`` creates an object from the request body and answers
``{"objectId": ...}``; ``GET {uri}/objects/{id}`` reads it back. Every request carries
``Authorization: Bearer <ELASTICIO_OBJECT_STORAGE_TOKEN>`` and the step's ``x-request-id``;
redirects are not followed. Two kinds of object use this client: message bodies
(``lightweight.py``) and attachments (``attachments.py``).

HTTP runs on ``requests`` in the caller's thread (the event loop calls through
``asyncio.to_thread``), imported at the first request: a step whose messages never touch
the storage does not hold it (~4.5 MB of resident memory). The bearer token is sent, never
logged and never part of an error message.

A failed attempt is repeated (network errors and HTTP >= 500, as Node's client does) only
when the request can be sent again whole: always for a read or a body held in bytes; for a
streamed upload only if its source can be replayed, or if not one byte of it was taken yet.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, unquote, urlsplit

from .errors import SailorException
from .retry import retry_call

if TYPE_CHECKING:
    import requests

OBJECTS_PATH = "/objects"
# Node's client: 3 attempts on network errors and HTTP >= 500, ~100 ms then 200 ms apart.
RETRY_DELAYS_S = (0.1, 0.2)
REQUEST_TIMEOUT_S = 10.0
# Node's attachment helper allows a storage request the client's longest timeout (20 s).
ATTACHMENT_TIMEOUT_S = 20.0
ACCEPT = "application/json, text/plain, */*"
READ_CHUNK_BYTES = 64 * 1024

UploadBody = bytes | Iterable[bytes]
_T = TypeVar("_T")


class ObjectStorageError(SailorException):
    """A failed object-storage call (network, HTTP status, an answer without an object id):
    the platform's side. The text names the request and the status, never the token.
    Published as ``name: "Error"``, like Node's errors."""

    error_name = "Error"


class ObjectTooLargeError(ObjectStorageError):
    """An object read whole (a message body) is larger than the reader's cap."""

    def __init__(self, object_id: str, limit: int) -> None:
        super().__init__(f"GET /objects/{object_id}: the object is larger than the limit of "
                         f"{limit} bytes")
        self.limit = limit


class ObjectStorage:
    """Client of ``{OBJECT_STORAGE_URI}/objects`` for one step; usable from many threads."""

    def __init__(
        self,
        uri: str | None,
        token: str | None,
        *,
        flow_id: str = "",
        step_id: str = "",
        timeout_s: float = REQUEST_TIMEOUT_S,
        retry_delays_s: tuple[float, ...] = RETRY_DELAYS_S,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._base = (uri or "").rstrip("/")
        self._token = token or ""
        self._request_id = f"f:{flow_id};s:{step_id};m:"
        self._timeout_s = timeout_s
        self._retry_delays_s = retry_delays_s
        self._sleep = sleep
        self._local = threading.local()  # one Session per thread: Session is not thread-safe

    @property
    def configured(self) -> bool:
        return bool(self._base)

    # --- URLs --------------------------------------------------------------------------

    def object_url(self, object_id: str) -> str:
        """The URL of an object: ``{uri}/objects/{id}``."""
        return f"{self._base}{OBJECTS_PATH}/{quote(object_id, safe='')}"

    def object_id_of(self, url: str) -> str | None:
        """The object id when ``url`` is ``{uri}/objects/{id}`` of this storage (same scheme,
        host, port and base path; any query), else None."""
        if not self._base:
            return None
        try:
            parts, base = urlsplit(url), urlsplit(self._base)
            same_origin = (parts.scheme.lower(), parts.hostname, parts.port) == (
                base.scheme.lower(), base.hostname, base.port)
        except ValueError:  # a malformed port or host
            return None
        prefix = base.path.rstrip("/") + OBJECTS_PATH + "/"
        if not same_origin or parts.username or not parts.path.startswith(prefix):
            return None
        object_id = parts.path[len(prefix):]
        if not object_id or "/" in object_id:
            return None
        return unquote(object_id)

    # --- requests ----------------------------------------------------------------------

    def get_object(self, object_id: str, *, max_bytes: int) -> bytes:
        """``GET /objects/<id>``: the whole object (for message bodies), at most
        ``max_bytes``. A larger object raises :class:`ObjectTooLargeError`: before its body
        is read when its length is announced, else as soon as the bytes read pass the cap
        (the connection is dropped; the rest is never read). A read that breaks off is
        repeated like a failed request."""

        def read_capped(response: requests.Response) -> bytes:
            with response:
                length = announced_length(response)
                if length is not None and length > max_bytes:
                    raise ObjectTooLargeError(object_id, max_bytes)
                parts: list[bytes] = []
                size = 0
                for chunk in response.iter_content(READ_CHUNK_BYTES):
                    size += len(chunk)
                    if size > max_bytes:
                        raise ObjectTooLargeError(object_id, max_bytes)
                    parts.append(chunk)
                return b"".join(parts)

        return self._request("GET", self._path(object_id), stream=True, finish=read_capped)

    def open_object(self, object_id: str, *, timeout_s: float = ATTACHMENT_TIMEOUT_S,
                    ) -> requests.Response:
        """``GET /objects/<id>`` with the body left unread (``stream=True``): the caller
        reads it in chunks and closes the response."""
        return self._request("GET", self._path(object_id), stream=True, timeout_s=timeout_s,
                             finish=_as_is)

    def post_object(
        self,
        body: Callable[[], UploadBody],
        *,
        content_type: str,
        replayable: bool,
        timeout_s: float | None = None,
    ) -> str:
        """``POST /objects``; returns the new object id. ``body()`` gives the request body for
        one attempt (bytes: sent with a length; an iterable of chunks: streamed, chunked).
        ``replayable`` says whether a second ``body()`` starts the same content afresh."""
        response = self._request("POST", OBJECTS_PATH, body=body, content_type=content_type,
                                 replayable=replayable, timeout_s=timeout_s, finish=_as_is)
        try:
            object_id = response.json().get("objectId")
        except (ValueError, AttributeError) as exc:
            raise ObjectStorageError("the upload answer is not a JSON object") from exc
        if not object_id or not isinstance(object_id, str):
            raise ObjectStorageError("the upload answer has no objectId")
        return object_id

    def _path(self, object_id: str) -> str:
        return f"{OBJECTS_PATH}/{quote(str(object_id), safe='')}"

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            import requests

            session = self._local.session = requests.Session()
        return session

    def _request(
        self,
        method: str,
        path: str,
        *,
        body: Callable[[], UploadBody] | None = None,
        content_type: str | None = None,
        replayable: bool = True,
        stream: bool = False,
        timeout_s: float | None = None,
        finish: Callable[[requests.Response], _T],
    ) -> _T:
        """One request, repeated as the module's docstring says; ``finish`` turns a
        successful answer into the result within the attempt (a body read there that
        breaks off fails the attempt)."""
        if not self._base:
            raise ObjectStorageError("ELASTICIO_OBJECT_STORAGE_URI is not set")
        headers = {
            "Authorization": f"Bearer {self._token}",
            "x-request-id": self._request_id,
            "Accept": ACCEPT,
        }
        if content_type is not None:
            headers["Content-Type"] = content_type
        url = self._base + path
        timeout = self._timeout_s if timeout_s is None else timeout_s
        import requests

        def attempt() -> _T:
            data = _Started(body()) if body is not None else None
            try:
                response = self._session().request(
                    method, url, data=data.content if data else None, headers=headers,
                    timeout=timeout, stream=stream, allow_redirects=False)
            except requests.RequestException as exc:
                failure = f"{method} {path} failed: {type(exc).__name__}"
                raise _failure(failure, again=replayable or not (data and data.started)) from None
            if response.status_code < 300:
                try:
                    return finish(response)
                except requests.RequestException as exc:
                    response.close()
                    failure = f"{method} {path} broke off: {type(exc).__name__}"
                    raise _failure(failure, again=replayable) from None
            response.close()
            failure = f"{method} {path} answered HTTP {response.status_code}"
            if response.status_code < 500:
                raise ObjectStorageError(failure)
            raise _failure(failure, again=replayable or not (data and data.started))

        try:
            return retry_call(
                attempt, attempts=len(self._retry_delays_s) + 1,
                delay_s=lambda retry: self._retry_delays_s[retry],
                retryable=lambda error: isinstance(error, _RetryableError), sleep=self._sleep)
        except _RetryableError as exc:
            raise ObjectStorageError(str(exc)) from None


def announced_length(response: requests.Response) -> int | None:
    """The body's length from ``Content-Length``, when the body comes as it is stored (no
    content coding: a compressed length says little about what it unpacks to)."""
    length = response.headers.get("Content-Length", "")
    coding = response.headers.get("Content-Encoding", "identity").strip().lower()
    if coding != "identity" or not length.isascii() or not length.isdigit():
        return None
    return int(length)


def object_chunks(response: requests.Response, object_id: str) -> Iterator[bytes]:
    """The body of a streamed ``GET /objects/<id>`` answer, in chunks; a connection that
    breaks off is the storage's error."""
    import requests

    try:
        yield from response.iter_content(READ_CHUNK_BYTES)
    except requests.RequestException as exc:
        raise ObjectStorageError(
            f"GET /objects/{object_id} broke off: {type(exc).__name__}") from None


def _as_is(response: requests.Response) -> requests.Response:
    return response


class _RetryableError(Exception):
    """A network error or an HTTP >= 500 answer to a request that can be sent again whole."""


def _failure(text: str, *, again: bool) -> Exception:
    if again:
        return _RetryableError(text)
    return ObjectStorageError(f"{text} (not repeated: the upload stream cannot be replayed)")


class _Started:
    """One attempt's body; for a stream, notes whether ``requests`` took a chunk of it."""

    def __init__(self, content: UploadBody) -> None:
        self.started = False
        self.content: Any = content if isinstance(content, bytes) else self._watch(content)

    def _watch(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            self.started = True
            yield chunk
