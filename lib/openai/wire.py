"""What both transports share: the request as sent and the answer as judged, in pure
functions (the sync client on `requests`, ``lib.openai.client``, and the async one on
aiohttp, ``lib.openai.async_client``, differ only in how bytes move).

Headers, the JSON body, the media type, a JSON answer's decoding within its bounds, the
total deadline of a call, the caps on bytes read, the typed error of an HTTP error answer
or of a failed send or read, the retry decision, and the proxy and CA settings read from
the environment.
"""

from __future__ import annotations

import enum
import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests

from lib.openai.errors import (
    NO_SECRETS,
    AnswerTooLargeError,
    APIConnectionError,
    APITimeoutError,
    BadRequestError,
    CallInterruptedError,
    NotFoundError,
    NotResentError,
    OpenAIError,
    RequestNotSentError,
    RetryLaterError,
    StreamError,
    error_from_response,
    is_about_the_model,
    shown,
    with_hint,
)
from lib.openai.limits import CONNECT_TIMEOUT_S, AnswerLimits, CallLimits
from lib.openai.paths import ENDPOINT_PATHS, base_url_hint
from lib.openai.retry import RetryPolicy, should_retry
from lib.redaction import OWN_SECRETS, Redactor, url_for_humans
from lib.version import USER_AGENT

JSON_CONTENT_TYPE = "application/json"
TOO_MANY_REQUESTS = 429  # refused before any work: a call that is not idempotent may retry it
HEADER_FIELDS = {"Authorization": "API Key", "OpenAI-Organization": "Organization",
                 "OpenAI-Project": "Project"}


# ---- the request ----------------------------------------------------------------------


DEFAULT_BASE_URL = "https://api.openai.com/v1"
# Clients kept per cache: the sync client's (per process) and the async one's (per event loop).
MAX_CACHED_CLIENTS = 16


class ClientSettings:
    """What both clients hold: where they call, how they retry, their bounds, the headers
    every call carries and the redaction of the key (registered for every API error)."""

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        organization: str | None = None,
        project: str | None = None,
        retry_policy: RetryPolicy | None = None,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        monotonic: Callable[[], float] = time.monotonic,
        limits: CallLimits | None = None,
    ) -> None:
        if not api_key:
            raise ValueError("An API key is required")
        self.base_url = base_url  # checked and normalised by lib.config
        self.organization = organization
        self.project = project
        self.retry_policy = retry_policy or RetryPolicy()
        self.connect_timeout_s = connect_timeout_s
        self.limits = limits or CallLimits()
        self._monotonic = monotonic
        OWN_SECRETS.register(api_key)  # every API error is redacted with it
        self._redactor = Redactor([api_key])
        self._headers = build_headers(api_key, organization, project)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={url_for_humans(self.base_url)!r})"


def build_headers(api_key: str, organization: str | None, project: str | None) -> dict[str, str]:
    """The headers every call carries; a value HTTP cannot carry is a `RequestNotSentError`
    naming the field (never showing the value)."""
    headers = {
        "Authorization": f"Bearer {api_key}",
        "Accept": JSON_CONTENT_TYPE,
        "User-Agent": USER_AGENT,
    }
    if organization:
        headers["OpenAI-Organization"] = organization
    if project:
        headers["OpenAI-Project"] = project
    for name, value in headers.items():
        if not _sendable_header_value(value):
            raise RequestNotSentError(
                f"{HEADER_FIELDS.get(name, name)} contains a character that cannot be sent "
                "in an HTTP header (a line break, a control character or a character outside "
                "Latin-1); paste it again")
    return headers


def _sendable_header_value(value: str) -> bool:
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return value == value.strip() and not any(ord(c) < 32 or ord(c) == 127 for c in value)


def encode_body(body: Mapping[str, Any]) -> bytes:
    """The JSON request body; values JSON cannot carry (NaN, objects) are a `BadRequestError`."""
    try:
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise BadRequestError(f"The request body cannot be sent as JSON: {exc}") from None
    return text.encode("utf-8")


def environment_settings(base_url: str) -> tuple[dict[str, str], bool | str]:
    """The proxies for `base_url` and the CA setting (True: the bundled CAs; a path; False)
    the environment gives (HTTPS_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE...), read once per
    client, as `requests` reads them."""
    with requests.Session() as session:
        settings = session.merge_environment_settings(base_url, {}, None, None, None)
    verify = settings.get("verify")
    return dict(settings.get("proxies") or {}), True if verify is None else verify


# ---- the answer -----------------------------------------------------------------------


def media_type(content_type: str | None) -> str | None:
    """`image/png` from `image/png; charset=binary`; None when absent."""
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


def decode_json_object(
    body: bytes, status: int, request_id: str | None, redactor: Redactor = NO_SECRETS
) -> dict[str, Any]:
    """A successful answer's JSON object; anything else is an `OpenAIError` (its snippet
    of the body redacted: a misconfigured server may echo the request)."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than Python reads
        document = None
    if not isinstance(document, dict):
        snippet = redactor.text(shown(body[:4096].decode("utf-8", "replace"), 80) or "", 80)
        raise OpenAIError(
            f"The server answered with something that is not a JSON object: {snippet!r}; "
            "check the base URL",
            status=status,
            request_id=request_id,
        )
    return document


def json_answer(content: bytes, status: int, request_id: str | None, redactor: Redactor,
                limits: AnswerLimits, *, idempotent: bool) -> dict[str, Any]:
    """A successful answer's JSON object, its JSON values counted before it is parsed. For
    a call that is not `idempotent`, a failure is a `NotResentError`: the server took the
    request."""
    try:
        limits.budget(request_id).check_json(content)
        return decode_json_object(content, status, request_id, redactor)
    except OpenAIError as exc:
        if idempotent:
            raise
        raise NotResentError(exc) from None


class ByteCap:
    """Counts the bytes read of one body: more than `limit` is an `AnswerTooLargeError`."""

    __slots__ = ("limit", "read", "request_id", "status", "what")

    def __init__(self, limit: int, status: int, request_id: str | None, what: str) -> None:
        self.limit, self.status, self.request_id, self.what = limit, status, request_id, what
        self.read = 0

    def add(self, size: int) -> None:
        self.read += size
        if self.read > self.limit:
            raise AnswerTooLargeError(
                f"The server's {self.what} is larger than {self.limit} bytes; it is not read "
                "further", status=self.status, request_id=self.request_id)


class Deadline:
    """The total deadline of one call (retries included), and the caller's stop signal
    (the step's shutdown): both end a call between two reads."""

    def __init__(self, monotonic: Callable[[], float], total_s: float,
                 stop: threading.Event | None = None) -> None:
        self._monotonic = monotonic
        self.total_s = total_s
        self._at = monotonic() + total_s
        self.stop = stop

    def remaining_s(self) -> float:
        return self._at - self._monotonic()

    def check(self, request_id: str | None = None) -> None:
        """Raise `CallInterruptedError` once the stop signal is set, `APITimeoutError` once
        the deadline has passed."""
        if self.stop is not None and self.stop.is_set():
            raise CallInterruptedError(
                "Stopped waiting for the API's answer: the step is shutting down; the "
                "message is left for redelivery")
        if self.remaining_s() < 0:
            raise APITimeoutError(
                f"The call took longer than its total deadline of {self.total_s:g} s "
                "(10 x the step's Request timeout, at least 15 minutes) and was stopped",
                request_id=request_id)


# ---- failures -------------------------------------------------------------------------


class Failure(enum.Enum):
    """What went wrong when no HTTP answer came, or its body stopped coming."""

    CONNECT_TIMEOUT = "connect timeout"  # no connection within the connect timeout
    TIMEOUT = "timeout"  # no answer, or no data, within the Request timeout
    CONNECTION = "connection"  # refused, reset, closed, TLS, a proxy
    INVALID = "invalid"  # the request cannot be sent (a URL or a header)


def send_error(failure: Failure, reason: str, what: str, *, connect_timeout_s: float,
               timeout_s: float) -> OpenAIError:
    """The typed error of a request that got no answer (`reason`: a few scrubbed words)."""
    if failure is Failure.CONNECT_TIMEOUT:
        return APITimeoutError(
            f"{what}: could not connect within {connect_timeout_s:g} s (the connect timeout)")
    if failure is Failure.TIMEOUT:
        return APITimeoutError(
            f"{what}: no answer within {timeout_s:g} s (the step's Request timeout)")
    if failure is Failure.CONNECTION:
        return APIConnectionError(f"{what}: could not connect ({reason})")
    return RequestNotSentError(
        f"{what}: the request cannot be sent ({reason}); check the base URL")


def read_error(failure: Failure, reason: str, idle_timeout_s: float,
               request_id: str | None) -> OpenAIError:
    """The typed error of a body that stopped coming."""
    if failure in (Failure.TIMEOUT, Failure.CONNECT_TIMEOUT):
        return APITimeoutError(
            f"No data for more than {idle_timeout_s:g} s (the idle timeout between chunks, "
            "set by the step's Request timeout)", request_id=request_id)
    return StreamError(f"The connection broke while reading ({reason})", request_id=request_id)


def status_error(status: int, headers: Mapping[str, str], body: bytes, redactor: Redactor,
                 policy: RetryPolicy, *, idempotent: bool) -> OpenAIError:
    """The typed error of an HTTP error answer (`body`: its first bytes) when it may be
    tried again; raised when it may not (the user's, a call that is not idempotent, a wait
    longer than we sleep)."""
    error = error_from_response(status, body, headers, redactor)
    if not should_retry(status, headers, error.code):
        raise error
    if not idempotent and status != TOO_MANY_REQUESTS:
        raise NotResentError(error)
    too_long = policy.too_long_wait_s(headers)
    if too_long is not None:
        raise RetryLaterError(too_long, error)
    return error


def retry_delay_s(policy: RetryPolicy, attempts: int, headers: Mapping[str, str] | None,
                  error: OpenAIError, deadline: Deadline | None) -> float:
    """The wait before attempt `attempts` + 1; `error` raised when there is none (retries
    spent, or the wait would pass the deadline)."""
    delay = policy.delay_s(attempts - 1, headers)
    if attempts > policy.max_retries or (
            deadline is not None and deadline.remaining_s() < delay):
        error.attempts = attempts
        raise error
    return delay


def log_retry(logger: Any, what: str, error: OpenAIError, *, attempts: int,
              policy: RetryPolicy, delay_s: float) -> None:
    # only %s with text: works with stdlib logging and the sailor's Node-style logger
    logger.warning("%s failed (%s); retry %s of %s in %s s", what, str(error), str(attempts),
                   str(policy.max_retries), f"{delay_s:.2f}")


def with_base_url_hint(error: NotFoundError, path: str, base_url: str) -> OpenAIError:
    """A 404 of one of the API's endpoints, unless it is about the model, says how the
    base URL may be wrong."""
    if path in ENDPOINT_PATHS and not is_about_the_model(error):
        return with_hint(error, base_url_hint(base_url))
    return error
