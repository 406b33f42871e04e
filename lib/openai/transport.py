"""The async client's seam: how one request is sent and its answer read, nothing more.

`lib.openai.async_client` does everything else (retries, deadlines, caps, typed errors)
over a `Transport`: the real one is aiohttp's (``lib.openai.aiohttp_transport``); the
component's tests put one of their own in its place. A transport raises only
`TransportError`, saying what failed in `lib.openai.wire.Failure` terms and whether the
request certainly never left (no connection was made).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from lib.openai.wire import Failure


class TransportError(Exception):
    """No answer, or its body stopped: `failure` says how, `reason` in a few words (no
    secret in it), `never_sent` when no connection was made."""

    def __init__(self, failure: Failure, reason: str, *, never_sent: bool = False) -> None:
        super().__init__(reason)
        self.failure = failure
        self.reason = reason
        self.never_sent = never_sent


class RawAnswer(Protocol):
    """An HTTP answer whose body is read as it arrives."""

    @property
    def status(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]:
        """Case-insensitive."""
        ...

    async def read(self) -> bytes:
        """What of the body has arrived (waiting at most the read timeout for some); b""
        at its end, and then the connection is back in the pool."""
        ...

    def close(self) -> None:
        """Done with the answer: a connection whose body was not read to its end is
        dropped."""
        ...


class Transport(Protocol):
    """Sends requests over pooled connections of one event loop."""

    async def send(self, method: str, url: str, *, data: bytes | None,
                   headers: Mapping[str, str], connect_timeout_s: float,
                   read_timeout_s: float) -> RawAnswer:
        """The answer (any status), its body unread; `read_timeout_s` bounds the wait for
        the answer and every read of its body."""
        ...

    async def aclose(self) -> None:
        """Close the pooled connections; a later `send` opens new ones."""
        ...
