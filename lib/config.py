"""The step's configuration: credentials and step fields, parsed and validated once.

The platform hands the credentials and the step's own fields over in one `cfg` object,
text fields as strings (or leaves them out). Everything is normalised here, once (the
base URL included), so the rest of the component works with typed values only, each under
one name. `parse_credentials` reads what the credentials check and the Model dropdown
need; `parse_step_config` reads the whole step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from lib.errors import ConfigError, InvalidBaseURLError
from lib.openai.async_client import AsyncOpenAIClient, get_async_client
from lib.openai.client import OpenAIClient, get_client
from lib.openai.limits import (
    DEFAULT_REQUEST_TIMEOUT_S,
    MAX_REQUEST_TIMEOUT_S,
    MIN_REQUEST_TIMEOUT_S,
)
from lib.openai.paths import without_endpoint_path
from lib.openai.wire import DEFAULT_BASE_URL
from lib.redaction import url_for_humans

# The credentials' Server type: which API dialect the base URL speaks (never guessed from
# the host; lib.chat.compatible_servers says what "compatible" changes).
OPENAI = "openai"
COMPATIBLE = "compatible"
SERVER_TYPES = (OPENAI, COMPATIBLE)

# The step's model: the Model list (a select filled from GET /models) or, when the list
# cannot show it, an id typed into Model ID, which wins. One text field rather than a
# select that takes typed values: the platform's SelectView offers only what its function
# lists, and a key that may not list models gets an empty list.
MODEL_FIELD = "model"
MODEL_ID_FIELD = "modelId"
MODEL_ID_LABEL = "Model ID (overrides the list)"

DEFAULT_LONGEST_WAIT_MIN = 30.0
# Deep research takes tens of minutes; half a day is longer than any job we heard of, and
# a message held longer than that blocks its place in the step's queue for too long.
MAX_LONGEST_WAIT_MIN = 720.0
LONGEST_WAIT_FIELD = "longestWait"
TRANSLATE_FIELD = "translate"
DEFAULT_INDEXING_WAIT_MIN = 10.0
# A vector store indexes a file of hundreds of pages in a few minutes; an hour is far
# beyond, and a message held longer blocks its place in the step's queue.
MAX_INDEXING_WAIT_MIN = 60.0
INDEXING_WAIT_FIELD = "longestIndexingWait"

# "On API error": what an error of the API (after its retries) does to the message. RAISE
# fails it (the platform's error path); EMIT sends the error on as a data message, so
# that the flow can branch on it. Errors of the configuration, the input or the
# attachments always fail the message.
ON_API_ERROR_FIELD = "onApiError"
RAISE = "raise"
EMIT = "emit"
ON_API_ERROR_CHOICES = (RAISE, EMIT)

MAX_HOST_LABEL_CHARS = 63
MAX_HOST_CHARS = 253


@dataclass(frozen=True, kw_only=True)
class Credentials:
    """What the OpenAI client needs: key, base URL, the optional billing headers, and
    the API dialect of the server."""

    api_key: str = field(repr=False)  # never printed
    base_url: str = DEFAULT_BASE_URL
    organization: str | None = None
    project: str | None = None
    server_type: str = OPENAI

    def client(self) -> OpenAIClient:
        """The process-wide client for these credentials (pooled connections)."""
        return get_client(api_key=self.api_key, base_url=self.base_url,
                          organization=self.organization, project=self.project)

    def async_client(self) -> AsyncOpenAIClient:
        """The running event loop's async client for these credentials (for the actions
        whose `process` is a coroutine)."""
        return get_async_client(api_key=self.api_key, base_url=self.base_url,
                                organization=self.organization, project=self.project)


@dataclass(frozen=True, kw_only=True)
class StepConfig(Credentials):
    """The whole step: the credentials, the model (Model ID, else the Model list's; ''
    for an action without one), the Request timeout (seconds), the longest wait for a
    background response (seconds; Create Response only), what an API error does
    (`on_api_error`), the Translate to English switch (Transcribe Audio) and the longest
    wait for a vector store's indexing (seconds; Upload File)."""

    model: str
    timeout_s: float = DEFAULT_REQUEST_TIMEOUT_S
    longest_wait_s: float = DEFAULT_LONGEST_WAIT_MIN * 60
    on_api_error: str = RAISE
    translate: bool = False
    longest_indexing_wait_s: float = DEFAULT_INDEXING_WAIT_MIN * 60


def _text(cfg: dict[str, Any], key: str) -> str | None:
    """A trimmed string field, or None when it is absent or blank."""
    value = cfg.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{key} must be text, got {type(value).__name__}")
    value = value.strip()
    return value or None


def normalize_base_url(base_url: str | None) -> str:
    """The API base URL, checked, without trailing slashes (blank: OpenAI's).

    A pasted endpoint URL (``.../v1/chat/completions``, ``.../v1/responses``, any path of
    ``lib.openai.paths``) is cut back to its base, once. Raises
    :class:`InvalidBaseURLError` for what could never be sent: another scheme, no host, a
    host name no DNS can hold, user info (a password would be shown in logs). The URL is
    never echoed whole: it may carry a password.
    """
    url = (base_url or "").strip().rstrip("/") or DEFAULT_BASE_URL
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError when not a number in range
    except ValueError:
        raise InvalidBaseURLError(
            f"API base URL is not a valid URL; use one such as {DEFAULT_BASE_URL}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidBaseURLError(
            f"API base URL must be an http(s) URL such as {DEFAULT_BASE_URL}, "
            f"got {url_for_humans(url)[:100]!r}")
    if parts.username is not None or parts.password is not None:
        raise InvalidBaseURLError("API base URL must not contain a user name or password")
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise InvalidBaseURLError("API base URL must not contain a query (?...) or a fragment "
                                  "(#...): the client appends the endpoint's path to it")
    _check_host(parts.hostname)
    return without_endpoint_path(url)


def _check_host(host: str) -> None:
    """A host name DNS can hold (or an IP address): labels of 1-63 characters, 253 in all."""
    if ":" in host:
        return  # an IPv6 literal; urlsplit checked the brackets
    labels = host.removesuffix(".").split(".")
    if len(host) > MAX_HOST_CHARS or any(
            not 0 < len(label) <= MAX_HOST_LABEL_CHARS for label in labels):
        raise InvalidBaseURLError(
            f"API base URL has an invalid host name (empty or longer than "
            f"{MAX_HOST_LABEL_CHARS} characters between dots, or longer than "
            f"{MAX_HOST_CHARS} in all)")


def parse_server_type(value: str | None) -> str:
    """`serverType`: "openai" (the default) or "compatible"."""
    if value is None:
        return OPENAI
    value = value.lower()
    if value not in SERVER_TYPES:
        raise ConfigError(
            f"Server type must be one of {', '.join(SERVER_TYPES)}, got {value!r}"
        )
    return value


def parse_positive_number(value: Any, *, default: float, maximum: float, problem: str,
                          minimum: float = 0.0) -> float:
    """A number field: blank means `default`; otherwise `minimum` <= n <= `maximum` (and
    n > 0), else a `ConfigError` saying `problem` and the value given."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    problem = f"{problem}, got {value!r}"
    if isinstance(value, bool):
        raise ConfigError(problem)
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        raise ConfigError(problem) from None
    if not math.isfinite(number) or number <= 0 or not minimum <= number <= maximum:
        raise ConfigError(problem)
    return number


def parse_on_api_error(value: str | None) -> str:
    """`onApiError`: "raise" (the default) or "emit"."""
    if value is None:
        return RAISE
    if value.lower() not in ON_API_ERROR_CHOICES:
        raise ConfigError(f"On API error must be one of {', '.join(ON_API_ERROR_CHOICES)}, "
                          f"got {value[:40]!r}")
    return value.lower()


def parse_timeout(value: Any) -> float:
    """`requestTimeout` in seconds: blank means the default; otherwise a number from
    MIN_REQUEST_TIMEOUT_S to MAX_REQUEST_TIMEOUT_S (decimals allowed)."""
    return parse_positive_number(
        value, default=DEFAULT_REQUEST_TIMEOUT_S, minimum=MIN_REQUEST_TIMEOUT_S,
        maximum=MAX_REQUEST_TIMEOUT_S,
        problem=(f"Request timeout must be a number of seconds between "
                 f"{MIN_REQUEST_TIMEOUT_S:g} and {MAX_REQUEST_TIMEOUT_S:g}"))


def parse_minutes(value: Any, *, label: str, default: float, maximum: float) -> float:
    """A field in minutes (blank: the default), returned in seconds."""
    minutes = parse_positive_number(
        value, default=default, maximum=maximum,
        problem=f"{label} must be a number of minutes above 0 and at most {maximum:g}")
    return minutes * 60


def parse_longest_wait(value: Any) -> float:
    """`longestWait` in minutes (blank: the default), returned in seconds."""
    return parse_minutes(value, label="Longest wait for a background response",
                         default=DEFAULT_LONGEST_WAIT_MIN, maximum=MAX_LONGEST_WAIT_MIN)


def _credential_fields(cfg: dict[str, Any]) -> dict[str, Any]:
    api_key = _text(cfg, "apiKey")
    if api_key is None:
        raise ConfigError("API Key is required: paste the secret key from platform.openai.com")
    return {
        "api_key": api_key,
        "base_url": normalize_base_url(_text(cfg, "baseUrl")),
        "organization": _text(cfg, "organization"),
        "project": _text(cfg, "project"),
        "server_type": parse_server_type(_text(cfg, "serverType")),
    }


def parse_credentials(cfg: dict[str, Any]) -> Credentials:
    """Credentials (`apiKey`, `baseUrl`, `serverType`) plus the step's `organization` and
    `project`."""
    return Credentials(**_credential_fields(cfg))


def parse_longest_indexing_wait(value: Any) -> float:
    """`longestIndexingWait` in minutes (blank: the default), returned in seconds."""
    return parse_minutes(value, label="Longest wait for indexing",
                         default=DEFAULT_INDEXING_WAIT_MIN, maximum=MAX_INDEXING_WAIT_MIN)


def parse_switch(value: Any, label: str) -> bool:
    """A checkbox: true or false (the platform may send them as text); blank is false."""
    if value is None or isinstance(value, bool):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("", "false", "off", "no", "0"):
        return False
    if text in ("true", "on", "yes", "1"):
        return True
    raise ConfigError(f"{label} must be on or off (true or false), got {str(value)[:20]!r}")


def parse_step_config(cfg: dict[str, Any], *, needs_model: bool = True) -> StepConfig:
    """The whole step configuration, validated (`needs_model`: whether the action has a
    Model field)."""
    fields = _credential_fields(cfg)
    model = _text(cfg, MODEL_ID_FIELD) or _text(cfg, MODEL_FIELD)
    if model is None and needs_model:
        raise ConfigError(f"Model is required: pick one in the Model list, or type its id in "
                          f"'{MODEL_ID_LABEL}'")
    return StepConfig(
        **fields, model=model or "", timeout_s=parse_timeout(cfg.get("requestTimeout")),
        longest_wait_s=parse_longest_wait(cfg.get(LONGEST_WAIT_FIELD)),
        on_api_error=parse_on_api_error(_text(cfg, ON_API_ERROR_FIELD)),
        translate=parse_switch(cfg.get(TRANSLATE_FIELD), "Translate to English"),
        longest_indexing_wait_s=parse_longest_indexing_wait(cfg.get(INDEXING_WAIT_FIELD)),
    )
