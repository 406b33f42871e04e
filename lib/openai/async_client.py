"""The async transport of the long-waiting actions: `AsyncOpenAIClient`, on the event loop.

Send Request's calls wait for the model on the sailor's event loop instead of in a worker
thread each (bench/README.md, issue 22: a thread per waiting call costs more CPU per
message and per streamed chunk than aiohttp on the loop). Same constructor, same
semantics as the sync `lib.openai.client.OpenAIClient`, which stays the client of the
other actions: retries by `RetryPolicy` (the waits end early once `stop` is set), a call
that is not idempotent sent at most once once it may have reached the server, the total
deadline, the idle timeout, the caps on what an answer may be and hold, typed and
redacted errors, the base URL hint of a 404, no cookies, proxies and CAs read from the
environment once. What both clients do alike is in ``lib.openai.wire``; how bytes move is
a `lib.openai.transport.Transport` (aiohttp's, ``lib.openai.aiohttp_transport``).

`get_async_client` keeps one client per credentials per running event loop (an aiohttp
session belongs to one loop); a client it drops is closed once its calls have ended.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref
from collections import OrderedDict, deque
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Self

from lib.errors import is_user_error
from lib.openai.budget import AnswerBudget
from lib.openai.errors import (
    NotFoundError,
    NotResentError,
    OpenAIError,
    request_id_from,
)
from lib.openai.limits import (
    DEFAULT_REQUEST_TIMEOUT_S,
    AnswerLimits,
    CallLimits,
)
from lib.openai.sse import EventReader, ServerSentEvent
from lib.openai.transport import RawAnswer, Transport, TransportError
from lib.openai.wire import (
    DEFAULT_BASE_URL,
    JSON_CONTENT_TYPE,
    MAX_CACHED_CLIENTS,
    ByteCap,
    ClientSettings,
    Deadline,
    encode_body,
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

log = logging.getLogger(__name__)


def new_transport(base_url: str) -> Transport:
    """The transport a client makes for itself: aiohttp's (imported on first use, so that
    the sync actions never load it). The component's tests put their own in its place."""
    from lib.openai.aiohttp_transport import AiohttpTransport

    return AiohttpTransport(base_url)


class AsyncOpenAIClient(ClientSettings):
    """A thin transport to the OpenAI API (and compatible servers) on one event loop; its
    settings are `ClientSettings`' (lib.openai.wire), `transport` the tests' seam."""

    def __init__(self, api_key: str, *, transport: Transport | None = None,
                 **settings: Any) -> None:
        super().__init__(api_key, **settings)
        self._json_headers = {**self._headers, "Content-Type": JSON_CONTENT_TYPE}
        self._transport = transport or new_transport(self.base_url)
        self._calls = 0  # calls in flight; a stream counts until it is closed
        self._close_when_idle = False

    async def aclose(self) -> None:
        """Close the pooled connections (a later call opens new ones)."""
        await self._transport.aclose()

    def close_when_idle(self) -> None:
        """Close the pooled connections once no call is in flight: now if none is, else
        when the last one ends (a stream: when it is closed). A call made later (by a
        holder of the client) opens new connections, closed again when it ends."""
        self._close_when_idle = True
        self._close_if_idle()

    def _call_ended(self) -> None:
        self._calls -= 1
        self._close_if_idle()

    def _close_if_idle(self) -> None:
        if self._close_when_idle and self._calls == 0:
            _in_background(self._close_unless_called())

    async def _close_unless_called(self) -> None:
        if self._calls == 0:  # no call started since this close was scheduled
            await self.aclose()

    # -- endpoints --

    async def request_json(
        self, method: str, path: str, body: Mapping[str, Any] | None = None, *,
        timeout_s: float = DEFAULT_REQUEST_TIMEOUT_S, logger: Any = None,
        stop: threading.Event | None = None, idempotent: bool = True,
        answer_limits: AnswerLimits | None = None,
    ) -> dict[str, Any]:
        """`method` `path` (below the base URL) with an optional JSON body: the JSON answer
        (`stop`, `idempotent` and `answer_limits` as for `OpenAIClient.request_json`)."""
        self._calls += 1
        try:
            answer, deadline = await self._open(method, path, body, timeout_s=timeout_s,
                                                logger=logger, stop=stop,
                                                idempotent=idempotent)
            return await self._json_of(answer, timeout_s, deadline,
                                       answer_limits=answer_limits, idempotent=idempotent)
        finally:
            self._call_ended()

    async def post_for_events(
        self, path: str, body: Mapping[str, Any], *, timeout_s: float, logger: Any = None,
        stop: threading.Event | None = None, idempotent: bool = True,
    ) -> AsyncEventStream | dict[str, Any]:
        """POST expecting server-sent events; `timeout_s` is the longest wait for the first
        and the longest silence between two, the call's total deadline holds. A server
        that answers JSON instead (it ignored `stream`) gives that object."""
        self._calls += 1
        stream = None
        try:
            answer, deadline = await self._open("POST", path, body, timeout_s=timeout_s,
                                                logger=logger, stop=stop,
                                                idempotent=idempotent)
            if media_type(answer.headers.get("Content-Type")) == JSON_CONTENT_TYPE:
                return await self._json_of(answer, timeout_s, deadline,
                                           idempotent=idempotent)
            stream = AsyncEventStream(answer, self._redactor, deadline, timeout_s,
                                      limits=self.limits, monotonic=self._monotonic,
                                      on_close=self._call_ended)
            return stream
        finally:
            if stream is None:  # else the call ends when the stream is closed
                self._call_ended()

    # -- one call --

    async def _open(
        self, method: str, path: str, body: Mapping[str, Any] | None, *, timeout_s: float,
        logger: Any, stop: threading.Event | None, idempotent: bool,
    ) -> tuple[RawAnswer, Deadline]:
        """Send `method` `path` with its own total deadline: the answer, its body unread."""
        deadline = Deadline(self._monotonic, self.limits.total_deadline_s(timeout_s), stop)
        data = None if body is None else encode_body(body)
        try:
            answer = await self._send(method, f"{self.base_url}{path}", data, timeout_s=timeout_s,
                                      logger=logger or log, deadline=deadline,
                                      idempotent=idempotent)
        except NotFoundError as error:
            raise with_base_url_hint(error, path, self.base_url) from None
        return answer, deadline

    async def _send(self, method: str, url: str, data: bytes | None, *, timeout_s: float,
                    logger: Any, deadline: Deadline, idempotent: bool) -> RawAnswer:
        """Send with retries, as `OpenAIClient._send`: a 2xx/3xx answer is returned with
        its body unread, anything else raised typed. A call that is not `idempotent` is
        tried again only when it certainly did not reach the server or was refused
        unprocessed (429)."""
        policy = self.retry_policy
        what = f"{method} {url_for_humans(url)}"
        headers = self._headers if data is None else self._json_headers
        attempts = 0
        while True:
            attempts += 1
            deadline.check()
            answer_headers: Mapping[str, str] | None = None
            try:
                answer = await self._transport.send(
                    method, url, data=data, headers=headers,
                    connect_timeout_s=self.connect_timeout_s, read_timeout_s=timeout_s)
            except TransportError as exc:
                error = send_error(exc.failure, exc.reason, what,
                                   connect_timeout_s=self.connect_timeout_s, timeout_s=timeout_s)
                if is_user_error(error):
                    raise error from None
                if not idempotent and not exc.never_sent:
                    raise NotResentError(error) from None
            else:
                if answer.status < 400:
                    return answer
                answer_headers = answer.headers
                try:
                    body = await self._read_error_body(answer, timeout_s, deadline)
                finally:
                    answer.close()
                error = status_error(answer.status, answer_headers, body, self._redactor,
                                     policy, idempotent=idempotent)
            delay = retry_delay_s(policy, attempts, answer_headers, error, deadline)
            log_retry(logger, what, error, attempts=attempts, policy=policy, delay_s=delay)
            await policy.wait_async(delay, deadline.stop)

    async def _json_of(self, answer: RawAnswer, timeout_s: float, deadline: Deadline, *,
                       answer_limits: AnswerLimits | None = None,
                       idempotent: bool = True) -> dict[str, Any]:
        """A successful answer's JSON object, read within the bounds (closes the answer)."""
        limits = answer_limits or self.limits.answer_limits()
        request_id = request_id_from(answer.headers)
        cap = ByteCap(limits.max_bytes, answer.status, request_id, "answer")
        chunks: list[bytes] = []
        try:
            while chunk := await read_chunk(answer, timeout_s, request_id, deadline):
                cap.add(len(chunk))
                chunks.append(chunk)
        except OpenAIError as exc:
            if idempotent:
                raise
            raise NotResentError(exc) from None
        finally:
            answer.close()
        return json_answer(b"".join(chunks), answer.status, request_id, self._redactor,
                           limits, idempotent=idempotent)

    async def _read_error_body(self, answer: RawAnswer, timeout_s: float,
                               deadline: Deadline) -> bytes:
        """An error answer's body, up to the cap (the rest is not needed for the message)."""
        limit = self.limits.max_error_body_bytes
        content = bytearray()
        try:
            while len(content) < limit and (
                    chunk := await read_chunk(answer, timeout_s, None, deadline)):
                content += chunk
        except OpenAIError:
            pass  # the status tells enough; a broken error body adds nothing
        return bytes(content[:limit])


async def read_chunk(answer: RawAnswer, idle_timeout_s: float, request_id: str | None,
                     deadline: Deadline) -> bytes:
    """What of the body has arrived (b"" at its end); a broken or silent connection, the
    passed deadline or the stop signal, typed."""
    deadline.check(request_id)
    try:
        return await answer.read()
    except TransportError as exc:
        raise read_error(exc.failure, exc.reason, idle_timeout_s, request_id) from None


class AsyncEventStream:
    """The events of a streamed answer: `events`, an async iterator; close it (or use
    `async with`) to free the connection, `release` it first to keep the connection."""

    def __init__(self, answer: RawAnswer, redactor: Redactor, deadline: Deadline,
                 idle_timeout_s: float, *, limits: CallLimits | None = None,
                 monotonic: Callable[[], float] = time.monotonic,
                 on_close: Callable[[], None] | None = None) -> None:
        self._answer = answer
        self._on_close = on_close
        self._limits = limits or CallLimits()
        self.request_id = request_id_from(answer.headers)
        self.redactor = redactor
        self.events = _Events(answer, deadline, idle_timeout_s, request_id=self.request_id,
                              limits=self._limits, monotonic=monotonic)

    def budget(self) -> AnswerBudget:
        """A budget for the answer assembled from these events (lib.openai.budget)."""
        return self._limits.answer_budget(self.request_id)

    async def release(self) -> None:
        """The caller has the last event it needs: read what is left of the body (normally
        only the end of the chunked encoding) so that the connection goes back to the pool
        instead of being closed (without this every streamed call opened a new
        connection, a new TLS handshake). Bounded: `max_drain_bytes` in all, within
        `drain_timeout_s`; beyond, or on any failure, the connection is closed by
        `aclose`. The answer is not affected."""
        left = self._limits.max_drain_bytes
        try:
            async with asyncio.timeout(self._limits.drain_timeout_s):
                while left > 0 and (chunk := await self._answer.read()):
                    left -= len(chunk)
        except (TimeoutError, TransportError):
            pass

    async def aclose(self) -> None:
        self._answer.close()
        on_close, self._on_close = self._on_close, None
        if on_close is not None:
            on_close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class _Events:
    """The server-sent events of an answer as they arrive, within the stream's bounds
    (bytes, lines, events, values per event, the idle timeout, the deadline)."""

    def __init__(self, answer: RawAnswer, deadline: Deadline, idle_timeout_s: float, *,
                 request_id: str | None, limits: CallLimits,
                 monotonic: Callable[[], float]) -> None:
        self._answer = answer
        self._deadline = deadline
        self._idle_timeout_s = idle_timeout_s
        self._request_id = request_id
        self._cap = ByteCap(limits.max_stream_bytes, answer.status, request_id, "event stream")
        self._reader = EventReader(idle_timeout_s=idle_timeout_s, monotonic=monotonic,
                                   max_line_bytes=limits.max_sse_line_bytes,
                                   max_events=limits.max_stream_events,
                                   max_event_values=limits.max_answer_values)
        self._ready: deque[ServerSentEvent] = deque()
        self._ended = False

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> ServerSentEvent:
        ready = self._ready
        while not ready:
            if self._ended:
                raise StopAsyncIteration
            # read_chunk's work, inline: one coroutine frame less per chunk
            self._deadline.check(self._request_id)
            try:
                chunk = await self._answer.read()
            except TransportError as exc:
                raise read_error(exc.failure, exc.reason, self._idle_timeout_s,
                                 self._request_id) from None
            if chunk:
                self._cap.add(len(chunk))
                ready.extend(self._reader.feed(chunk))
            else:
                self._ended = True
                ready.extend(self._reader.end())
        return ready.popleft()


# ---- one client per credentials per event loop -----------------------------------------

_ClientKey = tuple[str, str, str | None, str | None]
_clients: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, OrderedDict[_ClientKey, AsyncOpenAIClient]] = (
    weakref.WeakKeyDictionary())


def get_async_client(
    *,
    api_key: str,
    base_url: str = DEFAULT_BASE_URL,
    organization: str | None = None,
    project: str | None = None,
) -> AsyncOpenAIClient:
    """The running loop's client for these credentials (created on first use, then
    reused); `base_url` as normalised by ``lib.config``."""
    key = (api_key, base_url, organization or None, project or None)
    of_loop = _clients.setdefault(asyncio.get_running_loop(), OrderedDict())
    client = of_loop.get(key)
    if client is None:
        client = AsyncOpenAIClient(api_key, base_url=key[1], organization=key[2],
                                   project=key[3])
        of_loop[key] = client
        if len(of_loop) > MAX_CACHED_CLIENTS:
            _key, evicted = of_loop.popitem(last=False)
            evicted.close_when_idle()  # its calls in flight end first
    else:
        of_loop.move_to_end(key)
    return client


_background: set[asyncio.Task[None]] = set()  # referenced until done (the loop's are weak)


def _in_background(work: Coroutine[Any, Any, None]) -> None:
    task = asyncio.get_running_loop().create_task(work)
    _background.add(task)
    task.add_done_callback(_background.discard)


async def close_async_clients() -> None:
    """Close and forget the running loop's clients (tests; the end of a loop)."""
    of_loop = _clients.pop(asyncio.get_running_loop(), OrderedDict())
    for client in of_loop.values():
        await client.aclose()
