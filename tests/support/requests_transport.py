"""The async client's transport on `requests`, each blocking step in a worker thread: so
that the component's action tests, which fake OpenAI with `responses`, serve the async
actions (Send Request) as they serve the sync ones. The real transport, aiohttp's, is
tested against real servers (tests/component/openai/test_async_client.py) and in the
sailor's end-to-end tests."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import requests
from urllib3.exceptions import HTTPError

from lib.openai.client import classify, failure_reason, is_timeout, never_sent
from lib.openai.errors import NO_SECRETS
from lib.openai.limits import READ_CHUNK_BYTES
from lib.openai.transport import RawAnswer, TransportError
from lib.openai.wire import Failure


class RequestsTransport:
    """A `lib.openai.transport.Transport` over one `requests.Session`."""

    def __init__(self, base_url: str) -> None:
        del base_url
        self._session = requests.Session()
        self._session.trust_env = False

    async def send(self, method: str, url: str, *, data: bytes | None,
                   headers: Mapping[str, str], connect_timeout_s: float,
                   read_timeout_s: float) -> RawAnswer:
        try:
            response = await asyncio.to_thread(
                self._session.request, method, url, data=data, headers=dict(headers),
                stream=True, timeout=(connect_timeout_s, read_timeout_s))
        except requests.RequestException as exc:
            failure, reason = classify(exc, NO_SECRETS)
            raise TransportError(failure, reason, never_sent=never_sent(exc)) from None
        except ValueError as exc:
            raise TransportError(Failure.INVALID, type(exc).__name__) from None
        return _Answer(response)

    async def aclose(self) -> None:
        self._session.close()


class _Answer:
    def __init__(self, response: requests.Response) -> None:
        self._response = response

    @property
    def status(self) -> int:
        return self._response.status_code

    @property
    def headers(self) -> Mapping[str, str]:
        return self._response.headers

    async def read(self) -> bytes:
        try:
            chunk: bytes = await asyncio.to_thread(
                self._response.raw.read1, READ_CHUNK_BYTES, decode_content=True)
        except (requests.RequestException, HTTPError, OSError) as exc:
            failure = Failure.TIMEOUT if is_timeout(exc) else Failure.CONNECTION
            raise TransportError(failure, failure_reason(exc)) from None
        return chunk

    def close(self) -> None:
        self._response.close()
