"""The async client's transport on aiohttp (``lib.openai.transport``): pooled keep-alive
connections on the running event loop, no cookies, proxy and CA settings read from the
environment once, as the sync client reads them (``lib.openai.wire.environment_settings``).

The read timeout: aiohttp's ``sock_read`` bounds the wait for the answer's headers only;
the waits for its body are bounded by one `IdleWatchdog` per answer (aiohttp re-arms a
timer at every piece of data it receives, a cost per streamed chunk).

aiohttp's failures become `TransportError`s; nothing of an aiohttp exception is kept (its
request information carries the headers, the Authorization header among them).
"""

from __future__ import annotations

import asyncio
import functools
import ssl
from collections.abc import Mapping
from pathlib import Path

import aiohttp
import certifi
from requests.utils import select_proxy

from lib.openai.idle_watchdog import IdleWatchdog
from lib.openai.transport import RawAnswer, TransportError
from lib.openai.wire import Failure, environment_settings


def ssl_context(verify: bool | str) -> ssl.SSLContext | bool:
    """The TLS settings `requests` would use for `verify`: its bundled CAs (certifi's), a
    CA file or folder, or (False) no verification."""
    if verify is False:
        return False
    if verify is True:
        return ssl.create_default_context(cafile=certifi.where())
    if Path(verify).is_dir():
        return ssl.create_default_context(capath=verify)
    return ssl.create_default_context(cafile=verify)


class AiohttpTransport:
    """One aiohttp session (made on first use, on the running loop) for one base URL."""

    def __init__(self, base_url: str) -> None:
        proxies, verify = environment_settings(base_url)
        self._proxy = select_proxy(base_url, proxies)
        self._ssl = ssl_context(verify)
        self._session: aiohttp.ClientSession | None = None

    def _session_now(self) -> aiohttp.ClientSession:
        if self._session is None:
            # limit=0: as many connections as calls at once (the sailor's prefetch bounds
            # them); idle ones are kept for reuse
            connector = aiohttp.TCPConnector(limit=0, ssl=self._ssl)
            self._session = aiohttp.ClientSession(
                connector=connector, trust_env=False,
                cookie_jar=aiohttp.DummyCookieJar())
        return self._session

    async def send(self, method: str, url: str, *, data: bytes | None,
                   headers: Mapping[str, str], connect_timeout_s: float,
                   read_timeout_s: float) -> RawAnswer:
        timeout = aiohttp.ClientTimeout(total=None, connect=connect_timeout_s,
                                        sock_connect=connect_timeout_s,
                                        sock_read=read_timeout_s)
        try:
            response = await self._session_now().request(
                method, url, data=data, headers=headers, timeout=timeout, proxy=self._proxy)
        except aiohttp.ConnectionTimeoutError:
            raise TransportError(Failure.CONNECT_TIMEOUT, "connect timeout",
                                 never_sent=True) from None
        except (TimeoutError, aiohttp.ServerTimeoutError):
            raise TransportError(Failure.TIMEOUT, "timeout") from None
        except aiohttp.ClientConnectorError as exc:
            raise TransportError(Failure.CONNECTION, reason(exc), never_sent=True) from None
        except ValueError as exc:  # InvalidURL, a header aiohttp refuses
            raise TransportError(Failure.INVALID, type(exc).__name__) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise TransportError(Failure.CONNECTION, reason(exc)) from None
        connection = response.connection
        if connection is not None and connection.protocol is not None:
            # the headers are in: from here the watchdog bounds the waits (aiohttp drops
            # its timer at the next piece of data)
            connection.protocol.read_timeout = None
        return _Answer(response, read_timeout_s)

    async def aclose(self) -> None:
        session, self._session = self._session, None  # a later send makes a new one
        if session is not None:
            await session.close()


class _Answer:
    """An aiohttp answer as a `RawAnswer`; a read that waits `idle_s` for data ends in a
    timeout."""

    __slots__ = ("_content", "_response", "_time", "_watchdog")

    def __init__(self, response: aiohttp.ClientResponse, idle_s: float) -> None:
        self._response = response
        self._content = response.content
        loop = asyncio.get_running_loop()
        self._time = loop.time
        # the watchdog holds the body's reader, not this answer: no reference cycle, so
        # an answer and its buffers are freed when dropped, not at the collector's pass
        self._watchdog = IdleWatchdog(loop, idle_s, functools.partial(_time_out,
                                                                      self._content))

    @property
    def status(self) -> int:
        return self._response.status

    @property
    def headers(self) -> Mapping[str, str]:
        return self._response.headers

    async def read(self) -> bytes:
        watchdog = self._watchdog
        watchdog.since = self._time()
        try:
            data = await self._content.readany()
        except (TimeoutError, aiohttp.ServerTimeoutError):
            raise TransportError(Failure.TIMEOUT, "timeout") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise TransportError(Failure.CONNECTION, reason(exc)) from None
        finally:
            watchdog.since = None
        if not data:
            watchdog.stop()
        return data

    def close(self) -> None:
        self._watchdog.stop()
        self._response.close()


def _time_out(content: aiohttp.StreamReader) -> None:
    """The read waiting on `content` ends in a timeout."""
    content.set_exception(aiohttp.SocketTimeoutError("Timeout on reading data from socket"))


def reason(exc: BaseException) -> str:
    """Why a connection failed, in a few words, without aiohttp's internals."""
    if isinstance(exc, aiohttp.ClientSSLError):
        return "the TLS handshake failed"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return exc.strerror or "connection refused"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "the server sent an incomplete answer"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__
