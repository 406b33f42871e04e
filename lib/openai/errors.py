"""The client's errors: one class per meaning, and pure functions mapping an answer to one.

Every error knows whether it is the user's (bad input, key, permission, quota: fix the
request or the account) or ours/the server's (5xx, network, timeouts: retry later).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "***"
MAX_BODY_SNIPPET_CHARS = 300
REQUEST_ID_HEADERS = ("x-request-id", "apim-request-id", "x-ms-request-id")
INSUFFICIENT_QUOTA = "insufficient_quota"
SAMPLING_PARAMETERS = frozenset(
    {"temperature", "top_p", "presence_penalty", "frequency_penalty", "logit_bias", "n",
     "logprobs", "top_logprobs"}
)


class OpenAIError(Exception):
    """Base error: the API's message plus status, type, code, param and request id."""

    is_user_error: bool = False  # a class default; some answers set it per instance

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
        self.message = message
        self.status = status
        self.type = type
        self.code = code
        self.param = param
        self.request_id = request_id
        self.hint = hint
        super().__init__(message)

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
        text = " ".join(self.message.split()) or type(self).__name__
        if details:
            text = f"{text} ({', '.join(details)})"
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


class BadRequestError(OpenAIError):
    """400: the request is wrong (a parameter, the context length, a JSON schema)."""

    is_user_error = True


class AuthenticationError(OpenAIError):
    """401: the API key (or its organization) is not accepted."""

    is_user_error = True


class PermissionDeniedError(OpenAIError):
    """403: the key may not use this model, region or resource."""

    is_user_error = True


class NotFoundError(OpenAIError):
    """404: unknown model or path (often a wrong base URL)."""

    is_user_error = True


class ConflictError(OpenAIError):
    """409: a transient conflict on the server side; retried."""


class UnprocessableEntityError(OpenAIError):
    """422: the server understood the request but cannot process it."""

    is_user_error = True


class RateLimitError(OpenAIError):
    """429: too many requests or tokens per minute; transient."""


class InsufficientQuotaError(RateLimitError):
    """429 `insufficient_quota`: out of credits or over the monthly budget; not transient."""

    is_user_error = True


class InternalServerError(OpenAIError):
    """5xx: the server failed."""


class APIConnectionError(OpenAIError):
    """No answer: DNS, TCP, TLS, a proxy, or the connection dropped."""


class APITimeoutError(APIConnectionError):
    """No answer (or no stream data) within the timeout."""


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


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret replaced by `***`."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def request_id_from(headers: Mapping[str, str]) -> str | None:
    """The request id the server gave the call (OpenAI's `x-request-id`, Azure's variants)."""
    for name in REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return value
    return None


def error_class_for(status: int, code: str | None, error_type: str | None) -> type[OpenAIError]:
    """The error class for an HTTP status (and, for 429, the code that tells quota from rate)."""
    if status == 429 and INSUFFICIENT_QUOTA in (code, error_type):
        return InsufficientQuotaError
    if status >= 500:
        return InternalServerError
    return STATUS_ERRORS.get(status, OpenAIError)


def parse_error_body(body: bytes) -> dict[str, Any]:
    """The API's `error` object from a body; tolerant of compatible servers' other shapes."""
    try:
        document = json.loads(body) if body else None
    except ValueError:
        document = None
    if not isinstance(document, dict):
        text = body.decode("utf-8", "replace").strip()
        return {"message": " ".join(text.split())[:MAX_BODY_SNIPPET_CHARS]}
    error = document.get("error", document)
    if isinstance(error, str):
        return {"message": error}
    if not isinstance(error, dict):
        return {"message": json.dumps(error)[:MAX_BODY_SNIPPET_CHARS]}
    if "message" not in error:
        detail = error.get("detail") or error.get("msg")
        message = detail if isinstance(detail, str) else json.dumps(error)
        error = {**error, "message": message[:MAX_BODY_SNIPPET_CHARS]}
    return error


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


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
    if code == "model_not_found":
        return "check the model name and that the key's organization/project may use it"
    if status == 429 and code == INSUFFICIENT_QUOTA:
        return "the account is out of credits or over its budget; check billing (no use retrying)"
    return None


def error_from_response(
    status: int,
    body: bytes,
    headers: Mapping[str, str],
    secrets: Iterable[str] = (),
) -> OpenAIError:
    """The typed error for an HTTP error answer; secrets are scrubbed from the message."""
    error = parse_error_body(body)
    code = _text(error.get("code"))
    error_type = _text(error.get("type"))
    param = _text(error.get("param"))
    message = redact(_text(error.get("message")) or f"HTTP {status}", secrets)
    error_class = error_class_for(status, code, error_type)
    result = error_class(
        message,
        status=status,
        type=error_type,
        code=code,
        param=param,
        request_id=request_id_from(headers),
        hint=hint_for(status, code, param),
    )
    if error_class is OpenAIError and 400 <= status < 500:
        result.is_user_error = True  # other 4xx (413 too large, 415...) are the request's fault
    return result


def error_from_event(data: Any, request_id: str | None, secrets: Iterable[str] = ()) -> StreamError:
    """The error for an error event inside a stream (`{"error": {...}}` or `event: error`)."""
    error = data.get("error", data) if isinstance(data, dict) else {"message": str(data)}
    if not isinstance(error, dict):
        error = {"message": str(error)}
    return StreamError(
        redact(_text(error.get("message")) or "error event in the stream", secrets),
        type=_text(error.get("type")),
        code=_text(error.get("code")),
        param=_text(error.get("param")),
        request_id=request_id,
    )
