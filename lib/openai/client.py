"""The sync HTTP transport: one pooled `requests.Session` per credentials, retries, typed
errors.

The client of the sync actions (embeddings, moderations, audio, files, images, models);
Send Request and Create Response, whose calls mostly wait, call through the async client
on the sailor's event loop (``lib.openai.async_client``), which streams. Request building
and answer decoding are pure functions (``lib.openai.wire``, shared by both clients);
`OpenAIClient` only sends, retries by `RetryPolicy` and maps failures to
`lib.openai.errors`; it knows no endpoint but the path it is given (the calls of each API
surface live beside it: ``embeddings``, ``files``, ``models``). Every call is bounded by
`lib.openai.limits`. The base URL comes checked and normalised (``lib.config``).
`get_client` keeps one client per (api_key, base_url, organization, project) per
process; it is thread-safe.
"""

from __future__ import annotations

import http.cookiejar
import json
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Self

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import HTTPError, NewConnectionError, ReadTimeoutError

from lib.errors import is_user_error
from lib.openai.errors import (
    NotFoundError,
    NotResentError,
    OpenAIError,
    RequestNotSentError,
    request_id_from,
)
from lib.openai.limits import (
    DEFAULT_REQUEST_TIMEOUT_S,
    READ_CHUNK_BYTES,
    AnswerLimits,
)
from lib.openai.multipart import MultipartForm
from lib.openai.wire import (
    DEFAULT_BASE_URL,
    JSON_CONTENT_TYPE,
    MAX_CACHED_CLIENTS,
    ByteCap,
    ClientSettings,
    Deadline,
    Failure,
    encode_body,
    environment_settings,
    json_answer,
    log_retry,
    media_type,
    read_error,
    retry_delay_s,
    send_error,
    status_error,
    with_base_url_hint,
)
from lib.redaction import Redactor, url_for_humans
from lib.version import USER_AGENT

POOL_CONNECTIONS = 4  # distinct hosts kept
# Connections kept per host. The sailor runs up to its prefetch of messages at once, each
# holding one connection for its call (a stream for its whole answer); calls beyond this
# many open a new connection and close it after (streaming at prefetch 100 with 64 kept
# reconnected a third of its calls). An idle pool slot costs nothing.
POOL_MAXSIZE = 256

log = logging.getLogger(__name__)


# ---- the client ----------------------------------------------------------------------


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    """Keeps no cookie: the API needs none, and a server's `Set-Cookie`s must not pile up
    in a session shared by every message."""

    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:  # noqa: ARG002
        return False

    def return_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:  # noqa: ARG002
        return False


def _new_session(base_url: str, headers: Mapping[str, str] | None) -> requests.Session:
    """A pooled session without cookies; proxy and CA settings read from the environment
    once, not per call."""
    session = requests.Session()
    proxies, verify = environment_settings(base_url)
    session.trust_env = False  # no per-call environment lookups, no ~/.netrc overriding auth
    session.proxies.update(proxies)
    session.verify = verify
    session.cookies.set_policy(_NoCookies())
    adapter = HTTPAdapter(pool_connections=POOL_CONNECTIONS, pool_maxsize=POOL_MAXSIZE,
                          max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    if headers:
        session.headers.update(headers)
    else:
        session.headers["User-Agent"] = USER_AGENT
    return session


class OpenAIClient(ClientSettings):
    """A thin, thread-safe transport to the OpenAI API (and compatible servers); its
    settings are `ClientSettings`' (lib.openai.wire)."""

    def __init__(self, api_key: str, **settings: Any) -> None:
        super().__init__(api_key, **settings)
        self._session = _new_session(self.base_url, self._headers)

    def close(self) -> None:
        """Close the pooled connections."""
        self._session.close()

    # -- endpoints --

    def request_json(
        self, method: str, path: str, body: Mapping[str, Any] | None = None, *,
        timeout_s: float = DEFAULT_REQUEST_TIMEOUT_S, logger: Any = None,
        stop: threading.Event | None = None, idempotent: bool = True,
        answer_limits: AnswerLimits | None = None,
    ) -> dict[str, Any]:
        """`method` `path` (below the base URL) with an optional JSON body: the JSON answer.
        `stop` is checked before every attempt and between reads: once set, the call ends
        with `CallInterruptedError`. A call that may start a billable job passes
        ``idempotent=False``: it is sent at most once once it may have reached the server
        (see `_send`). `answer_limits`: what the answer may hold, when the client's
        limits are not right for this call (lib.openai.budget)."""
        response, deadline = self._open(method, path, body, timeout_s=timeout_s,
                                        logger=logger, stop=stop, idempotent=idempotent)
        return self._json_of(response, timeout_s, request_id_from(response.headers), deadline,
                             answer_limits=answer_limits, idempotent=idempotent)

    def request_form(
        self, path: str, form: MultipartForm, *, text_answer: bool = False,
        timeout_s: float = DEFAULT_REQUEST_TIMEOUT_S, logger: Any = None,
        stop: threading.Event | None = None, idempotent: bool = True,
    ) -> dict[str, Any] | str:
        """POST a multipart form: the JSON object answered; with `text_answer`, an answer
        of any other media type as text (the audio endpoints answer srt, vtt and text so).
        The form's files are read while they are sent and opened anew for a retry; `stop`
        and `idempotent` as for `request_json`."""
        response, deadline = self._open("POST", path, form, timeout_s=timeout_s,
                                        logger=logger, stop=stop, idempotent=idempotent)
        request_id = request_id_from(response.headers)
        if text_answer and media_type(response.headers.get("Content-Type")) != JSON_CONTENT_TYPE:
            with response:
                content = self._read_answer(response, timeout_s, request_id, deadline)
            return content.decode("utf-8", "replace")
        return self._json_of(response, timeout_s, request_id, deadline, idempotent=idempotent)

    def open_file_answer(
        self, path: str, body: Mapping[str, Any], *, timeout_s: float, logger: Any = None,
        stop: threading.Event | None = None, idempotent: bool = True,
    ) -> FileAnswer:
        """POST a JSON body that is answered with a file (speech audio): the answer, its
        bytes read as they are taken (capped like any answer, within the idle timeout and
        the total deadline; `idempotent` as for `request_json`). A JSON answer instead is
        an `OpenAIError` quoting it."""
        response, deadline = self._open("POST", path, body, timeout_s=timeout_s,
                                        logger=logger, stop=stop, idempotent=idempotent)
        request_id = request_id_from(response.headers)
        content_type = media_type(response.headers.get("Content-Type"))
        if content_type == JSON_CONTENT_TYPE:
            document = self._json_of(response, timeout_s, request_id, deadline)
            snippet = self._redactor.text(json.dumps(document)[:4096], 120)
            raise OpenAIError(f"The server answered JSON instead of a file: {snippet}; check "
                              "the base URL", status=response.status_code,
                              request_id=request_id)
        return self._file_answer(response, deadline, timeout_s, self.limits.max_answer_bytes)

    def open_answer(
        self, path: str, body: Mapping[str, Any] | MultipartForm, *, max_bytes: int,
        timeout_s: float, logger: Any = None, stop: threading.Event | None = None,
        idempotent: bool = True,
    ) -> FileAnswer:
        """POST a JSON body or a form whose answer is too large to be read whole (images in
        base64): the answer's bytes as they are taken, whatever their media type, up to
        `max_bytes` (within the idle timeout and the total deadline; `stop` and
        `idempotent` as for `request_json`). Close it when done."""
        response, deadline = self._open("POST", path, body, timeout_s=timeout_s,
                                        logger=logger, stop=stop, idempotent=idempotent)
        return self._file_answer(response, deadline, timeout_s, max_bytes)

    def _file_answer(self, response: requests.Response, deadline: Deadline,
                     timeout_s: float, max_bytes: int) -> FileAnswer:
        """An answer whose bytes are read as they are taken, up to `max_bytes`."""
        request_id = request_id_from(response.headers)
        chunks = self._capped(self._guarded_chunks(response, timeout_s, request_id, deadline),
                              max_bytes, response.status_code, request_id, "answer")
        return FileAnswer(response, chunks, media_type(response.headers.get("Content-Type")),
                          request_id)

    def _json_of(self, response: requests.Response, timeout_s: float, request_id: str | None,
                 deadline: Deadline, *, answer_limits: AnswerLimits | None = None,
                 idempotent: bool = True) -> dict[str, Any]:
        """A successful answer's JSON object, read within the bounds (closes the answer):
        its bytes as read, its JSON values before it is parsed. For a call that is not
        `idempotent`, a failure here is a `NotResentError`: the server took the request."""
        limits = answer_limits or self.limits.answer_limits()
        try:
            with response:
                content = self._read_answer(response, timeout_s, request_id, deadline,
                                            limits.max_bytes)
        except OpenAIError as exc:
            if idempotent:
                raise
            raise NotResentError(exc) from None
        return json_answer(content, response.status_code, request_id, self._redactor,
                           limits, idempotent=idempotent)

    def _open(
        self, method: str, path: str, body: Mapping[str, Any] | MultipartForm | None, *,
        timeout_s: float, logger: Any, stop: threading.Event | None = None,
        idempotent: bool = True,
    ) -> tuple[requests.Response, Deadline]:
        """Send `method` `path` with its own total deadline (and `stop`, see
        `request_json`): the answer, its body unread. A JSON body is encoded once; a form
        is produced anew for every attempt."""
        deadline = Deadline(self._monotonic, self.limits.total_deadline_s(timeout_s), stop)
        data: bytes | Callable[[], Iterable[bytes]] | None = None
        headers = None
        if isinstance(body, MultipartForm):
            data, headers = body.body, {"Content-Type": body.content_type}
        elif body is not None:
            data = encode_body(body)
        try:
            response = self._send(method, f"{self.base_url}{path}", data=data,
                                  headers=headers, timeout_s=timeout_s, logger=logger,
                                  deadline=deadline, idempotent=idempotent)
        except NotFoundError as error:
            raise with_base_url_hint(error, path, self.base_url) from None
        return response, deadline

    # -- transport --

    def _send(
        self,
        method: str,
        url: str,
        *,
        timeout_s: float,
        data: bytes | Callable[[], Iterable[bytes]] | None = None,
        headers: Mapping[str, str] | None = None,
        logger: Any = None,
        what: str | None = None,
        deadline: Deadline | None = None,
        idempotent: bool = True,
    ) -> requests.Response:
        """Send with retries; a 2xx/3xx answer is returned with its body unread, anything
        else raised typed. The user's errors fail at once; the others are retried by the
        policy, within the deadline. `data` is the body, or a function that makes it anew
        for each attempt (a streamed form); whatever the body's source raises while it is
        sent ends the call as it is.

        A call that is not `idempotent` (it may start a billable job) is tried again only
        when it certainly did not reach the server (no connection could be made) or was
        refused unprocessed (429); any other failure is raised as `NotResentError`."""
        policy = self.retry_policy
        logger = logger or log
        what = what or f"{method} {url_for_humans(url)}"
        if data is not None:
            headers = {"Content-Type": JSON_CONTENT_TYPE, **(headers or {})}
        attempts = 0
        # Own loop: the wait comes from the failed answer's headers and is cut by `stop`/deadline.
        while True:
            attempts += 1
            if deadline is not None:
                deadline.check()
            response_headers: Mapping[str, str] | None = None
            try:
                response = self._session.request(
                    method, url, data=data() if callable(data) else data, headers=headers,
                    stream=True,
                    timeout=(self.connect_timeout_s, timeout_s),
                )
            except requests.RequestException as exc:
                failure, reason = classify(exc, self._redactor)
                error = send_error(failure, reason, what,
                                   connect_timeout_s=self.connect_timeout_s, timeout_s=timeout_s)
                if is_user_error(error):
                    raise error from None
                if not idempotent and not never_sent(exc):
                    raise NotResentError(error) from None
            except ValueError as exc:  # urllib3's LocationParseError, a non-Latin-1 header
                raise RequestNotSentError(
                    f"{what}: the request cannot be sent ({type(exc).__name__}); check the "
                    "base URL and the credentials") from None
            else:
                if response.status_code < 400:
                    return response
                response_headers = response.headers
                error = self._retryable_status_error(response, timeout_s, deadline, idempotent)
            delay = retry_delay_s(policy, attempts, response_headers, error, deadline)
            log_retry(logger, what, error, attempts=attempts, policy=policy, delay_s=delay)
            policy.wait(delay, None if deadline is None else deadline.stop)

    def _retryable_status_error(
        self, response: requests.Response, timeout_s: float, deadline: Deadline | None,
        idempotent: bool,
    ) -> OpenAIError:
        """The typed error of an HTTP error answer that may be tried again; raised when it
        may not (``lib.openai.wire.status_error``)."""
        with response:
            body = self._read_error_body(response, timeout_s, deadline)
        return status_error(response.status_code, response.headers, body, self._redactor,
                            self.retry_policy, idempotent=idempotent)

    def _read_answer(
        self, response: requests.Response, timeout_s: float, request_id: str | None,
        deadline: Deadline, max_bytes: int | None = None,
    ) -> bytes:
        """A successful answer's body, read within the deadline and the size cap."""
        return b"".join(self._capped(
            self._guarded_chunks(response, timeout_s, request_id, deadline),
            max_bytes or self.limits.max_answer_bytes, response.status_code, request_id,
            "answer"))

    def _read_error_body(
        self, response: requests.Response, timeout_s: float, deadline: Deadline | None
    ) -> bytes:
        """An error answer's body, up to the cap (the rest is not needed for the message)."""
        limit = self.limits.max_error_body_bytes
        content = bytearray()
        try:
            for chunk in self._guarded_chunks(response, timeout_s, None, deadline):
                content += chunk
                if len(content) >= limit:
                    break
        except OpenAIError:
            pass  # the status tells enough; a broken error body adds nothing
        return bytes(content[:limit])

    @staticmethod
    def _capped(chunks: Iterator[bytes], limit: int, status: int, request_id: str | None,
                what: str) -> Iterator[bytes]:
        """`chunks` until more than `limit` bytes came: then `AnswerTooLargeError`."""
        cap = ByteCap(limit, status, request_id, what)
        for chunk in chunks:
            cap.add(len(chunk))
            yield chunk

    def _guarded_chunks(
        self, response: requests.Response, idle_timeout_s: float, request_id: str | None,
        deadline: Deadline | None = None,
    ) -> Iterator[bytes]:
        """The body's chunks as they arrive; a broken or silent connection, or the passed
        deadline, becomes typed."""
        raw = response.raw
        while True:
            if deadline is not None:
                deadline.check(request_id)
            failure: OpenAIError | None = None
            try:
                # read1: whatever has arrived (chunked or not), without waiting for a full buffer
                chunk = raw.read1(READ_CHUNK_BYTES, decode_content=True)
            except (requests.RequestException, HTTPError, OSError) as exc:
                failure = read_error(Failure.TIMEOUT if is_timeout(exc) else Failure.CONNECTION,
                                     failure_reason(exc), idle_timeout_s, request_id)
            if failure is not None:
                raise failure
            if not chunk:
                return
            yield chunk


class FileAnswer:
    """A file (or an answer too large to hold) the server answers with: its bytes as they
    arrive (`chunks`, read once) and its media type. Close it (or use `with`) to free the
    connection."""

    def __init__(self, response: requests.Response, chunks: Iterator[bytes],
                 media_type: str | None, request_id: str | None) -> None:
        self._response = response
        self.chunks = chunks
        self.media_type = media_type
        self.request_id = request_id

    def close(self) -> None:
        self._response.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def never_sent(exc: requests.RequestException) -> bool:
    """Whether a failure happened before the request could reach the server: no connection
    was made (refused, a name that does not resolve, the connect timeout)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError wraps the cause
    return isinstance(reason, NewConnectionError)


def classify(exc: requests.RequestException, redactor: Redactor) -> tuple[Failure, str]:
    """What a failure of `requests` without an answer was, and why in a few words (no
    exception is kept: the request object inside it carries the Authorization header)."""
    if isinstance(exc, requests.ConnectTimeout):
        return Failure.CONNECT_TIMEOUT, "connect timeout"
    if is_timeout(exc):
        return Failure.TIMEOUT, "timeout"
    if isinstance(exc, requests.ConnectionError):
        return Failure.CONNECTION, failure_reason(exc)
    return Failure.INVALID, redactor.text(f"{type(exc).__name__}: {exc}", 200)


def is_timeout(exc: BaseException) -> bool:
    """Whether a failure of `requests` or urllib3 (or of a socket read) is a timeout: told
    by its class, by a timeout it wraps, or (urllib3 wraps some in other classes) by name."""
    if isinstance(exc, requests.Timeout | TimeoutError | ReadTimeoutError):
        return True
    if "Timeout" in type(exc).__name__:
        return True
    return any(isinstance(arg, ReadTimeoutError | TimeoutError) for arg in exc.args)


_ERRNO_REASON = re.compile(r"\[Errno -?\d+\] ([^)'\"\]]+)")


def failure_reason(exc: BaseException) -> str:
    """Why a connection failed, in a few words, without urllib3's internals."""
    text = str(exc)
    match = _ERRNO_REASON.search(text)
    if match:
        return match.group(1).strip().rstrip(",")
    if isinstance(exc, requests.exceptions.SSLError):
        return "the TLS handshake failed"
    if "RemoteDisconnected" in text or "aborted" in text:
        return "the server closed the connection"
    if "IncompleteRead" in text or "ProtocolError" in text:
        return "the server sent an incomplete answer"
    return type(exc).__name__


# ---- the per-process cache -----------------------------------------------------------

_clients: OrderedDict[tuple[str, str, str | None, str | None], OpenAIClient] = OrderedDict()
_clients_lock = threading.Lock()


def get_client(
    *,
    api_key: str,
    base_url: str = DEFAULT_BASE_URL,
    organization: str | None = None,
    project: str | None = None,
) -> OpenAIClient:
    """The process's client for these credentials (created on first use, then reused);
    `base_url` as normalised by ``lib.config``."""
    key = (api_key, base_url, organization or None, project or None)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = OpenAIClient(api_key, base_url=key[1], organization=key[2], project=key[3])
            _clients[key] = client
            if len(_clients) > MAX_CACHED_CLIENTS:
                _clients.popitem(last=False)  # not closed: another thread may still use it
        else:
            _clients.move_to_end(key)
        return client


def clear_clients() -> None:
    """Forget the cached clients (tests; credentials rotated)."""
    with _clients_lock:
        for client in _clients.values():
            client.close()
        _clients.clear()
