"""Task-mode settings: the environment turned into one typed, immutable object
(docs/protocol.md#settings).

The parsing rules copy the Node sailor on purpose (docs/protocol.md#parsing-rules): an int setting
that parses to 0 falls back to its default, and every bool value other than "" and "false" is true.
Secrets are kept out of ``repr`` so a settings object can never leak into a log.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from .errors import SailorException

PREFIX = "ELASTICIO_"

ALWAYS_REQUIRED = (
    "FLOW_ID", "EXEC_ID", "STEP_ID", "CONTAINER_ID", "WORKSPACE_ID", "USER_ID", "COMP_ID",
    "FUNCTION", "API_URI", "API_USERNAME", "API_KEY",
)
REQUIRED_UNLESS_SHUTDOWN_HOOK = (
    "AMQP_URI", "LISTEN_MESSAGES_ON", "PUBLISH_MESSAGES_TO", "DATA_ROUTING_KEY",
    "ERROR_ROUTING_KEY", "REBOUND_ROUTING_KEY", "SNAPSHOT_ROUTING_KEY",
    "MESSAGE_CRYPTO_IV", "MESSAGE_CRYPTO_PASSWORD",
)

# Node settings that this sailor accepts and does not read, on purpose:
# PROCESS_AMQP_DRAIN - every publish waits for the broker's confirm, which also covers
#   a full write buffer (what Node's drain waits for);
# WAIT_MESSAGES_TIMEOUT - Node's poll interval while waiting for messages in flight at
#   shutdown; this sailor is told when each one ends (ELASTICIO_SHUTDOWN_GRACE_S bounds it).
ACCEPTED_BUT_IGNORED = ("PROCESS_AMQP_DRAIN", "WAIT_MESSAGES_TIMEOUT")
# The methods of service mode (``python -m elasticio_sailor service <method>``).
SERVICE_METHODS = ("verifyCredentials", "getMetaModel", "selectModel")

DEFAULT_PREFETCH = 1
DEFAULT_PROTOCOL_VERSION = 1
DEFAULT_REBOUND_INITIAL_EXPIRATION_MS = 15_000
DEFAULT_REBOUND_LIMIT = 20
DEFAULT_API_REQUEST_RETRY_ATTEMPTS = 3
DEFAULT_API_REQUEST_RETRY_DELAY_MS = 100
DEFAULT_DATA_RATE_LIMIT = 10
DEFAULT_ERROR_RATE_LIMIT = 2
DEFAULT_SNAPSHOT_RATE_LIMIT = 2
DEFAULT_RATE_INTERVAL_MS = 100
DEFAULT_PUBLISH_RETRY_DELAY_MS = 100
DEFAULT_PUBLISH_MAX_RETRY_DELAY_MS = 300_000
DEFAULT_RECONNECT_ATTEMPTS = 3
DEFAULT_RECONNECT_TIMEOUT_MS = 100
DEFAULT_OUTGOING_MESSAGE_SIZE_LIMIT = 10 * 1024 * 1024
DEFAULT_OBJECT_STORAGE_SIZE_THRESHOLD = 1024 * 1024
# This sailor only: the largest message body read from the object storage (ciphertext
# bytes, about the size of the body's JSON). A message is limited to 10 MB, but after its
# body was offloaded, so a stored body may be larger; ~3x that keeps memory bounded.
DEFAULT_OBJECT_STORAGE_BODY_SIZE_LIMIT = 32 * 1024 * 1024
# A little under Kubernetes' 30 s between SIGTERM and SIGKILL: time to close cleanly.
DEFAULT_SHUTDOWN_GRACE_S = 25.0

_LEADING_INT = re.compile(r"\s*([+-]?\d+)")
# lodash `camelCase` word rules restricted to ASCII (upper-case runs, capitalised
# words, ordinals, digit runs); every other character is a word break.
_WORD = re.compile(
    r"[A-Z]?[a-z]+(?=[^A-Za-z0-9]|[A-Z]|$)"
    r"|[A-Z]+(?=[^A-Za-z0-9]|[A-Z][a-z]|$)"
    r"|[A-Z]?[a-z]+"
    r"|[A-Z]+"
    r"|\d*(?:1ST|2ND|3RD|(?![123])\dTH)(?=\b|[a-z_])"
    r"|\d*(?:1st|2nd|3rd|(?![123])\dth)(?=\b|[A-Z_])"
    r"|\d+"
)


class SettingsError(SailorException):
    """A required variable is missing or a value is unusable; the message is safe to log."""


@dataclass(frozen=True)
class BrokerSettings:
    """The broker and crypto settings: all present whenever task mode consumes messages."""

    amqp_uri: str = field(repr=False)
    listen_messages_on: str
    publish_messages_to: str
    data_routing_key: str
    error_routing_key: str
    rebound_routing_key: str
    snapshot_routing_key: str
    message_crypto_iv: str = field(repr=False)
    message_crypto_password: str = field(repr=False)


@dataclass(frozen=True)
class TaskSettings:
    flow_id: str
    exec_id: str
    step_id: str
    container_id: str
    workspace_id: str
    user_id: str
    comp_id: str
    function: str
    api_uri: str
    api_username: str
    api_key: str = field(repr=False)
    amqp_uri: str | None = field(default=None, repr=False)
    listen_messages_on: str | None = None
    publish_messages_to: str | None = None
    data_routing_key: str | None = None
    error_routing_key: str | None = None
    rebound_routing_key: str | None = None
    snapshot_routing_key: str | None = None
    message_crypto_iv: str | None = field(default=None, repr=False)
    message_crypto_password: str | None = field(default=None, repr=False)
    component_path: str = ""
    prefetch: int = DEFAULT_PREFETCH
    protocol_version: int = DEFAULT_PROTOCOL_VERSION
    input_format: str = "default"
    rebound_initial_expiration_ms: int = DEFAULT_REBOUND_INITIAL_EXPIRATION_MS
    rebound_limit: int = DEFAULT_REBOUND_LIMIT
    startup_required: bool = False
    hook_shutdown: bool = False
    api_request_retry_attempts: int = DEFAULT_API_REQUEST_RETRY_ATTEMPTS
    api_request_retry_delay_ms: int = DEFAULT_API_REQUEST_RETRY_DELAY_MS
    data_rate_limit: int = DEFAULT_DATA_RATE_LIMIT
    error_rate_limit: int = DEFAULT_ERROR_RATE_LIMIT
    snapshot_rate_limit: int = DEFAULT_SNAPSHOT_RATE_LIMIT
    rate_interval_ms: int = DEFAULT_RATE_INTERVAL_MS
    amqp_publish_retry_delay_ms: int = DEFAULT_PUBLISH_RETRY_DELAY_MS
    amqp_publish_retry_attempts: int | None = None  # None: unlimited
    amqp_publish_max_retry_delay_ms: int = DEFAULT_PUBLISH_MAX_RETRY_DELAY_MS
    amqp_persistent_messages: bool = False
    amqp_reconnect_attempts: int = DEFAULT_RECONNECT_ATTEMPTS
    amqp_reconnect_timeout_ms: int = DEFAULT_RECONNECT_TIMEOUT_MS
    outgoing_message_size_limit: int = DEFAULT_OUTGOING_MESSAGE_SIZE_LIMIT
    no_self_passthrough: bool = False
    no_error_replies: bool = False
    object_storage_uri: str | None = None
    object_storage_token: str | None = field(default=None, repr=False)
    object_storage_size_threshold: int = DEFAULT_OBJECT_STORAGE_SIZE_THRESHOLD
    object_storage_body_size_limit: int = DEFAULT_OBJECT_STORAGE_BODY_SIZE_LIMIT
    emit_lightweight_message: bool = False
    # after SIGTERM, how long messages in flight may take before they are left to the broker
    shutdown_grace_s: float = DEFAULT_SHUTDOWN_GRACE_S
    # (header name, value) pairs from ELASTICIO_ADDITIONAL_VARS_FOR_HEADERS, unset ones dropped
    additional_headers: tuple[tuple[str, str], ...] = ()

    @property
    def delivery_mode(self) -> int:
        return 2 if self.amqp_persistent_messages else 1

    @cached_property
    def broker(self) -> BrokerSettings:
        """The broker settings; shutdown-hook mode has none (``SettingsError``)."""

        def present(value: str | None, name: str) -> str:
            if value is None:
                raise SettingsError(f"{PREFIX}{name} is missing")
            return value

        return BrokerSettings(
            amqp_uri=present(self.amqp_uri, "AMQP_URI"),
            listen_messages_on=present(self.listen_messages_on, "LISTEN_MESSAGES_ON"),
            publish_messages_to=present(self.publish_messages_to, "PUBLISH_MESSAGES_TO"),
            data_routing_key=present(self.data_routing_key, "DATA_ROUTING_KEY"),
            error_routing_key=present(self.error_routing_key, "ERROR_ROUTING_KEY"),
            rebound_routing_key=present(self.rebound_routing_key, "REBOUND_ROUTING_KEY"),
            snapshot_routing_key=present(self.snapshot_routing_key, "SNAPSHOT_ROUTING_KEY"),
            message_crypto_iv=present(self.message_crypto_iv, "MESSAGE_CRYPTO_IV"),
            message_crypto_password=present(
                self.message_crypto_password, "MESSAGE_CRYPTO_PASSWORD"),
        )

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in a log line."""
        values = (self.api_key, self.amqp_uri, self.message_crypto_password,
                  self.message_crypto_iv, self.object_storage_token)
        return tuple(v for v in values if v)


def parse_int(raw: str | None, default: int) -> int:
    """JavaScript ``parseInt`` semantics, plus the sailor's "0 means default" rule."""
    if not raw:
        return default
    match = _LEADING_INT.match(raw)
    if match is None:
        return default
    value = int(match.group(1))
    return value or default


def positive_int(raw: str | None, default: int) -> int:
    """:func:`parse_int`, with a negative value also meaning the default (for this
    sailor's own limits, where a negative number has no sense)."""
    value = parse_int(raw, default)
    return value if value > 0 else default


def parse_bool(raw: str | None, default: bool) -> bool:
    if raw is None:
        return default
    return raw not in ("", "false")


def parse_seconds(raw: str | None, default: float) -> float:
    """A duration in seconds (``25``, ``0.5``); empty, negative or not a number: ``default``."""
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        return default
    return value if math.isfinite(value) and value >= 0 else default


def parse_str(raw: str | None, default: str | None) -> str | None:
    return raw or default


def camel_case(name: str) -> str:
    """lodash ``camelCase`` for ASCII names: ``TENANT_ID`` -> ``tenantId``, ``X2Y`` -> ``x2Y``."""
    words = _WORD.findall(name.replace("'", "").replace("\u2019", ""))
    return "".join(
        word.lower() if index == 0 else word[:1].upper() + word[1:].lower()
        for index, word in enumerate(words)
    )


def additional_header_name(var_name: str) -> str:
    return camel_case(var_name.removeprefix(PREFIX))


def additional_headers(environ: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """docs/protocol.md#additional-header-variables: headers named after env vars; variables that
    are unset are omitted."""
    raw = environ.get(PREFIX + "ADDITIONAL_VARS_FOR_HEADERS")
    if not raw:
        return ()
    pairs = []
    for item in raw.split(","):
        var_name = item.strip()
        if not var_name:
            continue
        value = environ.get(var_name)
        if value is not None:
            pairs.append((additional_header_name(var_name), value))
    return tuple(pairs)


def _require(environ: Mapping[str, str], names: tuple[str, ...]) -> dict[str, str]:
    values = {}
    for name in names:
        value = environ.get(PREFIX + name)
        if not value:
            raise SettingsError(f"{PREFIX}{name} is missing")
        values[name.lower()] = value
    return values


def load_task_settings(environ: Mapping[str, str]) -> TaskSettings:
    """Build the task-mode settings or raise ``SettingsError("ELASTICIO_X is missing")``."""

    def raw(name: str) -> str | None:
        return environ.get(PREFIX + name)

    required = _require(environ, ALWAYS_REQUIRED)
    # Quirk kept from Node (docs/protocol.md#required-settings): the "skip AMQP variables" test
    # looks at the raw string, while the mode switch below uses the bool rules ("false" is off).
    if not raw("HOOK_SHUTDOWN"):
        required.update(_require(environ, REQUIRED_UNLESS_SHUTDOWN_HOOK))

    # Deviation from Node (docs/protocol.md#deviation-iv-checked-at-start-up)
    iv = required.get("message_crypto_iv")
    if iv is not None and len(iv.encode("utf-8")) != 16:
        raise SettingsError(f"{PREFIX}MESSAGE_CRYPTO_IV must be exactly 16 bytes long")

    retry_attempts = parse_int(raw("AMQP_PUBLISH_RETRY_ATTEMPTS"), 0)
    return TaskSettings(
        **required,
        component_path=parse_str(raw("COMPONENT_PATH"), "") or "",
        prefetch=parse_int(raw("RABBITMQ_PREFETCH_SAILOR"), DEFAULT_PREFETCH),
        protocol_version=parse_int(raw("PROTOCOL_VERSION"), DEFAULT_PROTOCOL_VERSION),
        input_format=parse_str(raw("INPUT_FORMAT"), "default") or "default",
        rebound_initial_expiration_ms=parse_int(
            raw("REBOUND_INITIAL_EXPIRATION"), DEFAULT_REBOUND_INITIAL_EXPIRATION_MS),
        rebound_limit=parse_int(raw("REBOUND_LIMIT"), DEFAULT_REBOUND_LIMIT),
        startup_required=parse_bool(raw("STARTUP_REQUIRED"), False),
        hook_shutdown=parse_bool(raw("HOOK_SHUTDOWN"), False),
        api_request_retry_attempts=parse_int(
            raw("API_REQUEST_RETRY_ATTEMPTS"), DEFAULT_API_REQUEST_RETRY_ATTEMPTS),
        api_request_retry_delay_ms=parse_int(
            raw("API_REQUEST_RETRY_DELAY"), DEFAULT_API_REQUEST_RETRY_DELAY_MS),
        data_rate_limit=parse_int(raw("DATA_RATE_LIMIT"), DEFAULT_DATA_RATE_LIMIT),
        error_rate_limit=parse_int(raw("ERROR_RATE_LIMIT"), DEFAULT_ERROR_RATE_LIMIT),
        snapshot_rate_limit=parse_int(raw("SNAPSHOT_RATE_LIMIT"), DEFAULT_SNAPSHOT_RATE_LIMIT),
        rate_interval_ms=parse_int(raw("RATE_INTERVAL"), DEFAULT_RATE_INTERVAL_MS),
        amqp_publish_retry_delay_ms=parse_int(
            raw("AMQP_PUBLISH_RETRY_DELAY"), DEFAULT_PUBLISH_RETRY_DELAY_MS),
        amqp_publish_retry_attempts=retry_attempts or None,
        amqp_publish_max_retry_delay_ms=parse_int(
            raw("AMQP_PUBLISH_MAX_RETRY_DELAY"), DEFAULT_PUBLISH_MAX_RETRY_DELAY_MS),
        amqp_persistent_messages=parse_bool(raw("AMQP_PERSISTENT_MESSAGES"), False),
        amqp_reconnect_attempts=parse_int(
            raw("AMQP_RECONNECT_ATTEMPTS"), DEFAULT_RECONNECT_ATTEMPTS),
        amqp_reconnect_timeout_ms=parse_int(
            raw("AMQP_RECONNECT_TIMEOUT"), DEFAULT_RECONNECT_TIMEOUT_MS),
        outgoing_message_size_limit=parse_int(
            raw("OUTGOING_MESSAGE_SIZE_LIMIT"), DEFAULT_OUTGOING_MESSAGE_SIZE_LIMIT),
        no_self_passthrough=parse_bool(raw("NO_SELF_PASSTRHOUGH"), False),
        no_error_replies=parse_bool(raw("NO_ERROR_REPLIES"), False),
        object_storage_uri=parse_str(raw("OBJECT_STORAGE_URI"), None),
        object_storage_token=parse_str(raw("OBJECT_STORAGE_TOKEN"), None),
        object_storage_size_threshold=parse_int(
            raw("OBJECT_STORAGE_SIZE_THRESHOLD"), DEFAULT_OBJECT_STORAGE_SIZE_THRESHOLD),
        object_storage_body_size_limit=positive_int(
            raw("OBJECT_STORAGE_BODY_SIZE_LIMIT"), DEFAULT_OBJECT_STORAGE_BODY_SIZE_LIMIT),
        emit_lightweight_message=parse_bool(raw("EMIT_LIGHTWEIGHT_MESSAGE"), False),
        shutdown_grace_s=parse_seconds(raw("SHUTDOWN_GRACE_S"), DEFAULT_SHUTDOWN_GRACE_S),
        additional_headers=additional_headers(environ),
    )
