"""The client's errors: one class per meaning, and pure functions mapping an answer to one.

Whose fault an error is shows in its class: the user's (bad input, key, permission, quota:
fix the request or the account) derive from :class:`lib.errors.UserError` as well as from
:class:`OpenAIError`; the others are transient or the server's (5xx, network, timeouts:
retried, then reported as such). ``(U)`` marks the user's::

    OpenAIError                      the API's message, status, type, code, param, request id
    ├── BadRequestError (U)          400
    ├── AuthenticationError (U)      401
    ├── PermissionDeniedError (U)    403
    ├── NotFoundError (U)            404
    ├── ConflictError                409, retried
    ├── UnprocessableEntityError (U) 422
    ├── RateLimitError               429, retried
    │   └── InsufficientQuotaError (U)  429 insufficient_quota
    ├── RequestRefusedError (U)      any other 4xx
    ├── InternalServerError          5xx, retried
    │   └── ServerValidationError (U)   5xx that is a validation error of the request
    ├── APIConnectionError           no answer
    │   └── APITimeoutError          no answer (or no stream data) in time
    ├── RequestNotSentError (U)      a header or URL HTTP cannot carry
    ├── AnswerTooLargeError          an answer over the size caps
    ├── StreamError                  a broken, malformed or error-carrying event stream
    ├── RetryLaterError              the server asks for a wait longer than we sleep
    └── NotResentError               a call that may start a billable job failed after it
                                     may have reached the server: not sent again

    CallInterruptedError             not an OpenAIError: the caller's stop signal ended
                                     the call (the step maps it to the runtime's shutdown)

Every field of every error (message, code, type, param, request id, hint) is redacted and
cut in :class:`OpenAIError`'s constructor, with the process's own secrets
(``lib.redaction.OWN_SECRETS``: the client registered its key): no way of building an
error, here or in a surface, can put the key into one. Builders that cut a text first
(the message of an error answer, its per-field details) cut it with :func:`shown` too, so
that a key straddling their cut is found whole.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from lib.errors import UserError
from lib.redaction import OWN_SECRETS, Redactor

# Builders' extra secrets besides the process's own (none by default).
NO_SECRETS = Redactor()

MAX_BODY_SNIPPET_CHARS = 300
MAX_FIELD_CHARS = 100  # code, type, param, request id
# The whole message: the API's message, its per-field details, our own words around them.
MAX_MESSAGE_CHARS = 1500
MAX_HINT_CHARS = 400
REQUEST_ID_HEADERS = ("x-request-id", "apim-request-id", "x-ms-request-id")
# 429 with this code (or type): out of credits, not a rate limit; never retried.
INSUFFICIENT_QUOTA = "insufficient_quota"
MODEL_NOT_FOUND = "model_not_found"
# 403 with this code: the API is not offered where the request comes from (not the key's
# permissions).
REGION_NOT_SUPPORTED = "unsupported_country_region_territory"
# A 404 about the model rather than the path: OpenAI's code, Azure's for a deployment name,
# and the words of compatible servers ("model \"x\" not found", "The model `x` does not exist").
_MODEL_CODES = frozenset({MODEL_NOT_FOUND, "DeploymentNotFound"})
_MODEL_WORDS = re.compile(r"(?i)\b(model|deployment)\b")
SAMPLING_PARAMETERS = frozenset(
    {"temperature", "top_p", "presence_penalty", "frequency_penalty", "logit_bias", "n",
     "logprobs", "top_logprobs"}
)


class OpenAIError(Exception):
    """Base error: the API's message plus status, type, code, param and request id.

    `attempts` is how many times the call was tried: after retries ran out, the text says
    so, and what to do (`after_retries`, per class).
    """

    after_retries: ClassVar[str] = "the failure may be transient: the message can be retried later"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        type: str | None = None,  # noqa: A002 - the API's own field name
        code: str | None = None,
        param: str | None = None,
        request_id: str | None = None,
        hint: str | None = None,
    ) -> None:
        # the one place every field is redacted and cut (see the module doc)
        self.message = shown(message, MAX_MESSAGE_CHARS) or ""
        self.status = status
        self.type = shown(type)
        self.code = shown(code)
        self.param = shown(param)
        self.request_id = shown(request_id)
        self.hint = shown(hint, MAX_HINT_CHARS)
        self.attempts = 1
        super().__init__(self.message)

    def __str__(self) -> str:
        details = [f"status {self.status}"] if self.status is not None else []
        if self.code:
            details.append(f"code {self.code}")
        elif self.type:
            details.append(f"type {self.type}")
        if self.param:
            details.append(f"param {self.param}")
        if self.request_id:
            details.append(f"request id {self.request_id}")
        text = self.message or type(self).__name__
        if details:
            text = f"{text} ({', '.join(details)})"
        if self.attempts > 1:
            text = f"{text}. Tried {self.attempts} times; {self.after_retries}"
        if self.hint:
            text = f"{text}. Hint: {self.hint}"
        return text

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle by the base constructor's keywords (the sailor may hand errors across)."""
        return (_rebuild, (type(self), self.message, self.__dict__.copy()))


def _rebuild(cls: type[OpenAIError], message: str, state: dict[str, Any]) -> OpenAIError:
    error = Exception.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class BadRequestError(OpenAIError, UserError):
    """400: the request is wrong (a parameter, the context length, a JSON schema)."""


class AuthenticationError(OpenAIError, UserError):
    """401: the API key (or its organization) is not accepted."""


class PermissionDeniedError(OpenAIError, UserError):
    """403: the key may not use this model, region or resource."""


class NotFoundError(OpenAIError, UserError):
    """404: unknown model or path (often a wrong base URL)."""


class ConflictError(OpenAIError):
    """409: a transient conflict on the server side; retried."""

    after_retries = "a conflict on the server is transient: the message can be retried later"


class UnprocessableEntityError(OpenAIError, UserError):
    """422: the server understood the request but cannot process it."""


class RateLimitError(OpenAIError):
    """429: too many requests or tokens per minute; transient."""

    after_retries = (
        "rate limits are transient: lower the step's prefetch so that fewer requests run at "
        "once, or check the account's rate limits (requests and tokens per minute)")


class InsufficientQuotaError(RateLimitError, UserError):
    """429 `insufficient_quota`: out of credits or over the monthly budget; not transient."""


class RequestRefusedError(OpenAIError, UserError):
    """Another 4xx (413 too large, 415...): the request's fault, not retried."""


class InternalServerError(OpenAIError):
    """5xx: the server failed."""

    after_retries = "server errors are usually transient: the message can be retried later"


class ServerValidationError(InternalServerError, UserError):
    """5xx whose answer is a validation error of the request (some compatible servers
    answer 500 for a request they do not support): the request's fault after all."""

    after_retries = (
        "the server's answer is a validation error, so the request (not the server) is at "
        "fault and retrying will not help: check the request's fields against what this "
        "server supports")


class APIConnectionError(OpenAIError):
    """No answer: DNS, TCP, TLS, a proxy, or the connection dropped."""

    after_retries = (
        "connection failures are usually transient; if it persists, check the base URL, "
        "the proxy and the network")


class APITimeoutError(APIConnectionError):
    """No answer (or no stream data) within the timeout."""

    after_retries = (
        "timeouts are usually transient: raise the step's Request timeout, or send "
        "stream: true so that a long answer arrives in pieces")


class RequestNotSentError(OpenAIError, UserError):
    """The request cannot be sent as configured: an API key or header value that HTTP
    cannot carry, a base URL whose host is not a valid name. Not retried."""


class AnswerTooLargeError(OpenAIError):
    """The server's answer is larger than the client reads (a misbehaving server)."""


class StreamError(OpenAIError):
    """The event stream broke, was malformed, or carried an error event."""


class RetryLaterError(OpenAIError):
    """The server asked for a longer wait than we sleep in-process: retry the message later."""

    def __init__(self, retry_after_s: float, cause: OpenAIError) -> None:
        self.retry_after_s = retry_after_s
        self.cause = cause
        super().__init__(
            f"The server asked to retry after {retry_after_s:g} s: {cause.message}",
            status=cause.status,
            type=cause.type,
            code=cause.code,
            param=cause.param,
            request_id=cause.request_id,
            hint=cause.hint,
        )


class NotResentError(OpenAIError):
    """A call that may start a billable job (sent with ``idempotent=False``) failed after
    it may have reached the server (no answer in time, a broken connection, a 5xx, or a
    stream that broke before it named what it made): it is not sent again, so that the job
    is not made, and paid, twice. `cause` is the failure."""

    def __init__(self, cause: OpenAIError) -> None:
        self.cause = cause
        super().__init__(
            f"{cause.message}. The request may have reached the server, so it is not sent "
            "again: what it asked for may have been started (and billed)",
            status=cause.status, type=cause.type, code=cause.code, param=cause.param,
            request_id=cause.request_id, hint=cause.hint)


class CallInterruptedError(Exception):
    """The caller's stop signal was set: the call (or a wait between calls) ended early,
    nothing more is read. Deliberately not an :class:`OpenAIError`: no handler of API
    failures (retries, polling, fallbacks) may take it for one."""


STATUS_ERRORS: Mapping[int, type[OpenAIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    408: APITimeoutError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def request_id_from(headers: Mapping[str, str]) -> str | None:
    """The request id the server gave the call (OpenAI's `x-request-id`, Azure's variants)."""
    for name in REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return value
    return None


def error_class_for(
    status: int, code: str | None, error_type: str | None, message: str = ""
) -> type[OpenAIError]:
    """The error class for an HTTP status (for 429, the code tells quota from rate; for
    5xx, a validation message tells the request's fault from the server's)."""
    if status == 429 and INSUFFICIENT_QUOTA in (code, error_type):
        return InsufficientQuotaError
    if status >= 500:
        if error_type == "invalid_request_error" or _VALIDATION_WORDS.search(message):
            return ServerValidationError
        return InternalServerError
    if status in STATUS_ERRORS:
        return STATUS_ERRORS[status]
    return RequestRefusedError if 400 <= status < 500 else OpenAIError


# What a validation error says (pydantic's "1 validation error for ...", "Invalid role").
_VALIDATION_WORDS = re.compile(
    r"(?i)\bvalidation errors?\b|\binvalid\b|\bunsupported\b|\bnot supported\b"
    r"|\bfield required\b|\bis required\b")
# Where compatible servers and validating proxies list per-field problems, and how an
# entry names its field and its problem.
_DETAIL_LISTS = ("detail", "details", "errors", "validation")
_DETAIL_PLACES = ("loc", "location", "path", "instancePath", "field", "param")
_DETAIL_TEXTS = ("msg", "message", "detail", "description")
MAX_FIELD_DETAILS = 5
MAX_FIELD_DETAIL_CHARS = 160


def parse_error_body(body: bytes) -> dict[str, Any]:
    """The API's `error` object from a body; tolerant of compatible servers' other shapes.
    Per-field details, where the server gives them, are in ``"field_details"``."""
    try:
        document = json.loads(body) if body else None
    except (ValueError, RecursionError):
        document = None
    if not isinstance(document, dict):
        text = body.decode("utf-8", "replace").strip()
        return {"message": " ".join(text.split()), "field_details": []}
    error = document.get("error", document)
    if isinstance(error, str):
        error = {"message": error}
    elif not isinstance(error, dict):
        error = {"message": json.dumps(error)}
    details = field_details(error) or field_details(document)
    if "message" not in error or not isinstance(error["message"], str):
        found: str | None = next((error[key] for key in ("message", "detail", "msg", "title")
                                  if isinstance(error.get(key), str)), None)
        error = {**error, "message": found or ("" if details else json.dumps(error))}
    return {**error, "field_details": details}


def field_details(container: dict[str, Any]) -> list[str]:
    """``"<field>: <problem>"`` for each entry of a per-field list (FastAPI's `detail`,
    validating proxies' `errors`/`details`/`validation`)."""
    for key in _DETAIL_LISTS:
        entries = container.get(key)
        if isinstance(entries, list) and entries and all(isinstance(e, dict) for e in entries):
            return [_field_detail(entry) for entry in entries]
    return []


def _field_detail(entry: dict[str, Any]) -> str:
    place = next((entry[key] for key in _DETAIL_PLACES if entry.get(key) not in (None, "")), None)
    problem = next((entry[key] for key in _DETAIL_TEXTS if isinstance(entry.get(key), str)), None)
    problem = problem or json.dumps(entry)
    if isinstance(place, list):
        parts = [p for p in place if p != "body"] or place
        place = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts).lstrip(".")
    elif isinstance(place, str):
        place = place.strip("/").replace("/", ".")
    return f"{place}: {problem}" if place else str(problem)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def shown(value: Any, limit: int = MAX_FIELD_CHARS, *, join_lines: bool = False) -> str | None:
    """A text from a server as it may be shown: without the process's own secrets, on one
    line, at most `limit` characters (None stays None). `join_lines` first removes the
    line breaks (a secret may be split across the lines of one stream event)."""
    text = _text(value)
    if text is None:
        return None
    return OWN_SECRETS.redactor().text(text, limit, join_lines=join_lines, one_line=True)


def _clean(redactor: Redactor, value: Any, limit: int = MAX_FIELD_CHARS) -> str | None:
    """A field of an error as shown (see `shown`), without `redactor`'s secrets either."""
    text = shown(value, limit)
    return None if text is None else redactor.text(text, limit, one_line=True)


def hint_for(status: int, code: str | None, param: str | None) -> str | None:
    """What the user should change, for the errors whose API message leaves that unclear."""
    return _parameter_hint(code, param) or _account_hint(status, code)


def _parameter_hint(code: str | None, param: str | None) -> str | None:
    """Reasoning models (o-series, gpt-5) reject legacy and sampling parameters."""
    if code == "unsupported_parameter":
        if param == "max_tokens":
            return "this model does not accept max_tokens; send max_completion_tokens instead"
        return f"this model does not support '{param}'; remove it from the request"
    if code != "unsupported_value":
        return None
    if param in SAMPLING_PARAMETERS:
        return (f"this model (e.g. a reasoning model: o-series, gpt-5) supports only the "
                f"default '{param}'; remove '{param}' from the request")
    return f"this model does not support this value of '{param}'; change or remove it"


def _account_hint(status: int, code: str | None) -> str | None:
    if status == 401:
        return "check the API key (and the organization/project, if set)"
    if code == MODEL_NOT_FOUND:
        return "check the model name and that the key's organization/project may use it"
    if status == 429 and code == INSUFFICIENT_QUOTA:
        return "the account is out of credits or over its budget; check billing (no use retrying)"
    return None


def is_about_the_model(error: OpenAIError) -> bool:
    """Whether a 404 says that the model (or Azure deployment) is unknown, not the path."""
    return error.code in _MODEL_CODES or bool(_MODEL_WORDS.search(error.message))


def with_hint(error: OpenAIError, hint: str) -> OpenAIError:
    """`error` with `hint` as its hint: a copy, unless it has a hint of its own already."""
    if error.hint:
        return error
    hinted = copy.copy(error)
    hinted.hint = shown(hint, MAX_HINT_CHARS)  # as the constructor would have
    return hinted


def error_from_response(
    status: int,
    body: bytes,
    headers: Mapping[str, str],
    redactor: Redactor = NO_SECRETS,
) -> OpenAIError:
    """The typed error for an HTTP error answer; secrets are scrubbed from every field,
    before anything is cut."""
    error = parse_error_body(body)

    code = _clean(redactor, error.get("code"))
    error_type = _clean(redactor, error.get("type"))
    param = _clean(redactor, error.get("param"))
    raw_message = _text(error.get("message")) or ""
    message = _clean(redactor, raw_message, MAX_BODY_SNIPPET_CHARS)
    details = [_clean(redactor, d, MAX_FIELD_DETAIL_CHARS) or "" for d in error["field_details"]]
    if details:
        more = len(details) - MAX_FIELD_DETAILS
        shown = "; ".join(details[:MAX_FIELD_DETAILS]) + (f" (and {more} more)" if more > 0 else "")
        message = f"{message}: {shown}" if message else shown
    message = message or f"HTTP {status}"
    error_class = error_class_for(status, code, error_type, raw_message)
    return error_class(
        message,
        status=status,
        type=error_type,
        code=code,
        param=param,
        request_id=_clean(redactor, request_id_from(headers)),
        hint=hint_for(status, code, param),
    )


def error_from_event(
    data: Any, request_id: str | None, redactor: Redactor = NO_SECRETS
) -> StreamError:
    """The error for an error event inside a stream (`{"error": {...}}` or `event: error`);
    secrets are scrubbed from every field."""
    error = data.get("error", data) if isinstance(data, dict) else {"message": str(data)}
    if not isinstance(error, dict):
        error = {"message": str(error)}

    return StreamError(
        _clean(redactor, error.get("message"), MAX_BODY_SNIPPET_CHARS)
        or "error event in the stream",
        type=_clean(redactor, error.get("type")),
        code=_clean(redactor, error.get("code")),
        param=_clean(redactor, error.get("param")),
        request_id=_clean(redactor, request_id),
    )

