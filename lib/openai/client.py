"""The HTTP client: one pooled `requests.Session` per credentials, retries, typed errors.

Request building and answer decoding are pure functions; `OpenAIClient` only sends,
retries by `RetryPolicy` and maps failures to `lib.openai.errors`. `get_client` keeps one
client per (api_key, base_url, organization, project) per process; it is thread-safe.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.cookies import RequestsCookieJar
from urllib3.exceptions import HTTPError, ReadTimeoutError

from lib.openai.errors import (
    APIConnectionError,
    APITimeoutError,
    BadRequestError,
    OpenAIError,
    RetryLaterError,
    StreamError,
    error_from_response,
    redact,
    request_id_from,
)
from lib.openai.retry import RetryPolicy, should_retry
from lib.openai.streaming import assemble_chat_completion, read_events
from lib.redaction import url_for_humans

DEFAULT_BASE_URL = "https://api.openai.com/v1"
USER_AGENT = "elasticio-chatgpt-component-py/1.0"
JSON_CONTENT_TYPE = "application/json"
EVENT_STREAM_CONTENT_TYPE = "text/event-stream"
CONNECT_TIMEOUT_S = 5.0
DEFAULT_COMPLETION_TIMEOUT_S = 60.0
DEFAULT_LIST_TIMEOUT_S = 30.0
POOL_CONNECTIONS = 4  # distinct hosts kept
POOL_MAXSIZE = 64  # connections per host: the sailor runs up to 50 messages at once
READ_CHUNK_BYTES = 64 * 1024
MAX_CACHED_CLIENTS = 16

log = logging.getLogger(__name__)


# ---- pure request building ------------------------------------------------------------


def normalize_base_url(base_url: str | None) -> str:
    """The base URL without trailing slashes (default: OpenAI's)."""
    url = (base_url or DEFAULT_BASE_URL).strip().rstrip("/")
    return url or DEFAULT_BASE_URL


def build_headers(api_key: str, organization: str | None, project: str | None) -> dict[str, str]:
    """The headers every call carries."""
    headers = {
        "Authorization": f"Bearer {api_key}",
        "Accept": JSON_CONTENT_TYPE,
        "User-Agent": USER_AGENT,
    }
    if organization:
        headers["OpenAI-Organization"] = organization
    if project:
        headers["OpenAI-Project"] = project
    return headers


def encode_body(body: Mapping[str, Any]) -> bytes:
    """The JSON request body; values JSON cannot carry (NaN, objects) are a `BadRequestError`."""
    try:
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise BadRequestError(f"The request body cannot be sent as JSON: {exc}") from None
    return text.encode("utf-8")


def media_type(content_type: str | None) -> str | None:
    """`image/png` from `image/png; charset=binary`; None when absent."""
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


def decode_json_object(
    body: bytes, status: int, request_id: str | None, secrets: tuple[str, ...] = ()
) -> dict[str, Any]:
    """A successful answer's JSON object; anything else is an `OpenAIError` (its snippet
    of the body without `secrets`: a misconfigured server may echo the request)."""
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        snippet = redact(body[:4096].decode("utf-8", "replace"), secrets)[:80]
        raise OpenAIError(
            f"The server answered with something that is not a JSON object: {snippet!r}; "
            "check the base URL",
            status=status,
            request_id=request_id,
        )
    return document


# ---- the client ----------------------------------------------------------------------


def _new_session(base_url: str, headers: Mapping[str, str] | None) -> requests.Session:
    """A pooled session; proxy and CA settings read from the environment once, not per call."""
    session = requests.Session()
    environment = session.merge_environment_settings(base_url, {}, None, None, None)
    session.trust_env = False  # no per-call environment lookups, no ~/.netrc overriding auth
    session.proxies.update(environment.get("proxies") or {})
    session.verify = environment.get("verify", True)
    adapter = HTTPAdapter(pool_connections=POOL_CONNECTIONS, pool_maxsize=POOL_MAXSIZE,
                          max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    if headers:
        session.headers.update(headers)
    else:
        session.headers["User-Agent"] = USER_AGENT
    return session


class OpenAIClient:
    """A thin, thread-safe client of the Chat Completions and Models endpoints."""

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str | None = DEFAULT_BASE_URL,
        organization: str | None = None,
        project: str | None = None,
        retry_policy: RetryPolicy | None = None,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        monotonic: Any = time.monotonic,
    ) -> None:
        if not api_key:
            raise ValueError("An API key is required")
        self.base_url = normalize_base_url(base_url)
        self.organization = organization
        self.project = project
        self.retry_policy = retry_policy or RetryPolicy()
        self.connect_timeout_s = connect_timeout_s
        self._monotonic = monotonic
        self._secrets = _secrets_of(api_key, self.base_url)
        self._session = _new_session(self.base_url, build_headers(api_key, organization, project))
        self._templates: dict[tuple[Any, ...], requests.PreparedRequest] = {}

    def __repr__(self) -> str:
        return f"OpenAIClient(base_url={url_for_humans(self.base_url)!r})"

    def close(self) -> None:
        """Close the pooled connections."""
        self._session.close()

    # -- endpoints --

    def create_chat_completion(
        self,
        body: Mapping[str, Any],
        *,
        timeout_s: float = DEFAULT_COMPLETION_TIMEOUT_S,
        logger: Any = None,
    ) -> dict[str, Any]:
        """POST /chat/completions; with `stream: true` the events are assembled into one
        `chat.completion`, and `timeout_s` is the longest silence between chunks."""
        stream = body.get("stream") is True
        response = self._send(
            self._session, "POST", f"{self.base_url}/chat/completions",
            data=encode_body(body), timeout_s=timeout_s, stream=stream, logger=logger,
        )
        request_id = request_id_from(response.headers)
        if not stream:
            return decode_json_object(response.content, response.status_code, request_id,
                                      self._secrets)
        with response:
            if media_type(response.headers.get("Content-Type")) == JSON_CONTENT_TYPE:
                # a compatible server that ignored `stream: true`
                return decode_json_object(response.content, response.status_code, request_id,
                                          self._secrets)
            chunks = self._guarded_chunks(response, timeout_s, request_id)
            events = read_events(chunks, idle_timeout_s=timeout_s, monotonic=self._monotonic)
            return assemble_chat_completion(events, request_id, self._secrets)

    def list_models(
        self, *, timeout_s: float = DEFAULT_LIST_TIMEOUT_S, logger: Any = None
    ) -> list[dict[str, Any]]:
        """GET /models: the `data` list."""
        response = self._send(self._session, "GET", f"{self.base_url}/models",
                              timeout_s=timeout_s, logger=logger)
        request_id = request_id_from(response.headers)
        document = decode_json_object(response.content, response.status_code, request_id,
                                      self._secrets)
        models = document.get("data")
        if not isinstance(models, list):
            raise OpenAIError("The model list answer has no 'data' list; check the base URL",
                              status=response.status_code, request_id=request_id)
        return models

    # -- transport --

    def _send(
        self,
        session: requests.Session,
        method: str,
        url: str,
        *,
        timeout_s: float,
        data: bytes | None = None,
        stream: bool = False,
        headers: Mapping[str, str] | None = None,
        logger: Any = None,
        what: str | None = None,
    ) -> requests.Response:
        """Send with retries; a 2xx/3xx answer is returned, anything else raised typed."""
        policy = self.retry_policy
        logger = logger or log
        what = what or f"{method} {url_for_humans(url)}"
        if data is not None:
            headers = {"Content-Type": JSON_CONTENT_TYPE, **(headers or {})}
        retries_taken = 0
        while True:
            response_headers: Mapping[str, str] | None = None
            try:
                if session is self._session:
                    response = self._send_prepared(
                        method, url, data=data, headers=headers, stream=stream,
                        timeout=(self.connect_timeout_s, timeout_s))
                else:
                    response = session.request(
                        method, url, data=data, headers=headers, stream=stream,
                        timeout=(self.connect_timeout_s, timeout_s),
                    )
            except requests.RequestException as exc:
                error = self._transport_error(exc, what)
            else:
                if response.status_code < 400:
                    return response
                response_headers = response.headers
                with response:
                    error, retryable = self._status_error(response)
                if not retryable:
                    raise error
                too_long = policy.too_long_wait_s(response_headers)
                if too_long is not None:
                    raise RetryLaterError(too_long, error)
            if retries_taken >= policy.max_retries:
                raise error
            delay = policy.delay_s(retries_taken, response_headers)
            retries_taken += 1
            # only %s with text: works with stdlib logging and the sailor's Node-style logger
            logger.warning("%s failed (%s); retry %s of %s in %s s", what, str(error),
                           str(retries_taken), str(policy.max_retries), f"{delay:.2f}")
            policy.sleep(delay)

    def _send_prepared(
        self, method: str, url: str, *, data: bytes | None,
        headers: Mapping[str, str] | None, stream: bool, timeout: tuple[float, float],
    ) -> requests.Response:
        """``session.request(...)`` for the API endpoints, without redoing per call what
        does not change: merging the session's headers, params, auth and hooks, parsing
        and IDNA-checking the URL, merging the (fixed, trust_env=False) environment
        settings. Profiled, that was ~25 % of a call's client time. The prepared request
        of each (method, URL, headers) is kept as a template; per call only the session's
        cookies and the body are prepared, as ``Session.prepare_request`` does."""
        session = self._session
        key = (method, url, tuple(headers.items()) if headers else ())
        template = self._templates.get(key)
        if template is None:
            template = session.prepare_request(
                requests.Request(method, url, headers=dict(headers or {})))
            template.headers.pop("Cookie", None)  # cookies come from the jar per call
            self._templates[key] = template
        prepared = template.copy()
        cookies = RequestsCookieJar()
        cookies.update(session.cookies)
        prepared.prepare_cookies(cookies)
        prepared.prepare_body(data, None)
        proxies = {name: value for name, value in session.proxies.items() if value is not None}
        return session.send(prepared, stream=stream, timeout=timeout, verify=session.verify,
                            proxies=proxies, cert=session.cert, allow_redirects=True)

    def _status_error(self, response: requests.Response) -> tuple[OpenAIError, bool]:
        """The typed error for an HTTP error answer, and whether to retry it."""
        status = response.status_code
        error = error_from_response(status, response.content, response.headers, self._secrets)
        return error, should_retry(status, response.headers, error.code)

    def _transport_error(self, exc: requests.RequestException, what: str) -> OpenAIError:
        """A typed, scrubbed error for a failure without an HTTP answer (no exception chain
        is kept: the request object inside it carries the Authorization header)."""
        detail = redact(f"{type(exc).__name__}: {exc}", self._secrets)
        if _is_timeout(exc):
            return APITimeoutError(f"{what} timed out ({detail})")
        if isinstance(exc, requests.ConnectionError):
            return APIConnectionError(f"{what}: could not connect ({detail})")
        error = APIConnectionError(f"{what}: invalid request ({detail}); check the base URL")
        error.is_user_error = True  # e.g. a base URL without a scheme
        return error

    def _guarded_chunks(
        self, response: requests.Response, idle_timeout_s: float, request_id: str | None
    ) -> Iterator[bytes]:
        """The body's chunks as they arrive; a broken or silent connection becomes typed."""
        raw = response.raw
        while True:
            failure: OpenAIError | None = None
            try:
                # read1: whatever has arrived (chunked or not), without waiting for a full buffer
                chunk = raw.read1(READ_CHUNK_BYTES, decode_content=True)
            except (requests.RequestException, HTTPError, OSError) as exc:
                detail = redact(f"{type(exc).__name__}: {exc}", self._secrets)
                if _is_timeout(exc):
                    failure = APITimeoutError(
                        f"No data for more than {idle_timeout_s:g} s ({detail})",
                        request_id=request_id)
                else:
                    failure = StreamError(f"The connection broke while reading ({detail})",
                                          request_id=request_id)
            if failure is not None:
                raise failure
            if not chunk:
                return
            yield chunk


def _is_timeout(exc: BaseException) -> bool:
    if isinstance(exc, requests.Timeout | TimeoutError | ReadTimeoutError):
        return True
    return any(isinstance(arg, ReadTimeoutError | TimeoutError) for arg in exc.args)


def _secrets_of(api_key: str, base_url: str) -> tuple[str, ...]:
    """What must never be printed: the key, and a password in the base URL."""
    password = urlsplit(base_url).password
    return (api_key, password) if password else (api_key,)


# ---- the per-process cache -----------------------------------------------------------

_clients: OrderedDict[tuple[str, str, str | None, str | None], OpenAIClient] = OrderedDict()
_clients_lock = threading.Lock()


def get_client(
    *,
    api_key: str,
    base_url: str | None = DEFAULT_BASE_URL,
    organization: str | None = None,
    project: str | None = None,
) -> OpenAIClient:
    """The process's client for these credentials (created on first use, then reused)."""
    key = (api_key, normalize_base_url(base_url), organization or None, project or None)
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
