"""Bunyan-compatible JSON log lines on stdout (docs/protocol.md#logging) and secret
redaction (docs/protocol.md#secrets).

One record is one JSON object on one line, written with a single ``write`` under a lock,
so records from worker threads never interleave. A disabled level costs one comparison.
Secrets registered with :func:`register_secret` are replaced by ``***`` in every string
of every later record (message, fields, error stack).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import threading
import traceback
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import IO, Any
from urllib.parse import quote, unquote, urlsplit

from .jsvalues import stringify

TRACE, DEBUG, INFO, WARN, ERROR, FATAL = 10, 20, 30, 40, 50, 60
LEVELS_BY_NAME = {
    "trace": TRACE,
    "debug": DEBUG,
    "info": INFO,
    "warn": WARN,
    "warning": WARN,
    "error": ERROR,
    "fatal": FATAL,
}
DEFAULT_LEVEL = INFO
REDACTED = "***"
# Shorter values would redact ordinary words and digits all over the log.
MIN_SECRET_LENGTH = 4

# docs/protocol.md#log-context: the only environment variables that may appear in a record, under
# their full names.
CONTEXT_VARIABLES = tuple(
    f"ELASTICIO_{name}"
    for name in (
        "API_USERNAME",
        "COMP_ID",
        "COMP_NAME",
        "CONTAINER_ID",
        "CONTRACT_ID",
        "EXEC_ID",
        "EXEC_TYPE",
        "EXECUTION_RESULT_ID",
        "FLOW_ID",
        "FLOW_VERSION",
        "FUNCTION",
        "STEP_ID",
        "TASK_USER_EMAIL",
        "TENANT_ID",
        "USER_ID",
        "WORKSPACE_ID",
    )
)
# Environment variables whose values are secrets wherever they appear (docs/protocol.md#secrets).
SECRET_VARIABLES = (
    "ELASTICIO_API_KEY",
    "ELASTICIO_MESSAGE_CRYPTO_PASSWORD",
    "ELASTICIO_MESSAGE_CRYPTO_IV",
    "ELASTICIO_OBJECT_STORAGE_TOKEN",
)
# cfg fields whose values are registered as secrets, so that no log line can show them.
SECRET_KEY_WORDS = ("key", "token", "secret", "password", "passwd", "auth", "credential")
# Variables that hold URLs which may carry credentials.
SECRET_URL_VARIABLES = ("ELASTICIO_AMQP_URI", "ELASTICIO_POST_RESULT_URL", "ELASTICIO_API_URI")
_CORE_FIELDS = frozenset({"name", "hostname", "pid", "level", "msg", "time", "v"})


class _State:
    """Process-wide logging configuration, shared by every logger."""

    def __init__(self) -> None:
        self.level = DEFAULT_LEVEL
        self.stream: IO[str] | None = None  # None: whatever sys.stdout is at write time
        self.context: dict[str, Any] = {}
        self.secrets: tuple[str, ...] = ()
        self.lock = threading.Lock()
        self.hostname = socket.gethostname()


_state = _State()


def parse_level(value: str | int | None) -> int:
    """A level name (``info``, ``WARN``) or number (``20``); anything else means info."""
    if value is None:
        return DEFAULT_LEVEL
    if isinstance(value, int):
        return value
    text = value.strip().lower()
    if text in LEVELS_BY_NAME:
        return LEVELS_BY_NAME[text]
    try:
        return int(text)
    except ValueError:
        return DEFAULT_LEVEL


def context_from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    """The context fields of every record: whitelisted variables that are set, and ``tag`` =
    FLOW_ID."""
    context: dict[str, Any] = {
        name: environ[name] for name in CONTEXT_VARIABLES if environ.get(name) is not None
    }
    if environ.get("ELASTICIO_FLOW_ID") is not None:
        context["tag"] = environ["ELASTICIO_FLOW_ID"]
    return context


def configure_logging(
    level: str | int | None = None,
    stream: IO[str] | None = None,
    environ: dict[str, str] | None = None,
) -> None:
    """Set level (default: ``LOG_LEVEL``), stream (default: stdout) and context from the
    environment; register the environment's secrets for redaction."""
    env = os.environ if environ is None else environ
    _state.level = parse_level(level if level is not None else env.get("LOG_LEVEL"))
    _state.stream = stream
    _state.context = context_from_environment(env)
    register_environment_secrets(env)


def register_secret(value: object) -> None:
    """From now on, every occurrence of ``value`` in a record is written as ``***``."""
    if not isinstance(value, str):
        return
    # The same secret can also appear URL-encoded (in a logged URL) or JSON-escaped (inside
    # a JSON text) in a string.
    candidates = {value, quote(value, safe=""), json.dumps(value, ensure_ascii=False)[1:-1]}
    for candidate in candidates:
        if len(candidate) >= MIN_SECRET_LENGTH and candidate not in _state.secrets:
            with _state.lock:
                # Longest first, so a secret containing another one is replaced whole.
                _state.secrets = tuple(sorted({*_state.secrets, candidate}, key=len, reverse=True))


def register_cfg_secrets(cfg: Any) -> None:
    """Register string values of secret-looking fields (``apiKey``, ``oauth.token``…) of a
    step's cfg or account keys, at every depth."""
    if isinstance(cfg, dict):
        for key, value in cfg.items():
            if isinstance(value, str) and any(w in str(key).lower() for w in SECRET_KEY_WORDS):
                register_secret(value)
            else:
                register_cfg_secrets(value)
    elif isinstance(cfg, list):
        for item in cfg:
            register_cfg_secrets(item)


def register_url_secrets(url: str | None) -> None:
    """Register the password (and the whole URL) of a URL with embedded credentials."""
    if not url:
        return
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        register_secret(url)
        return
    if password:
        register_secret(password)
        register_secret(unquote(password))
        register_secret(url)


def register_environment_secrets(environ: Mapping[str, str]) -> None:
    """Register the secrets the platform passes in the environment (docs/protocol.md#secrets)."""
    for name in SECRET_VARIABLES:
        register_secret(environ.get(name))
    for name in SECRET_URL_VARIABLES:
        register_url_secrets(environ.get(name))


def redact(value: Any) -> Any:
    """``value`` with every registered secret replaced in every string it contains."""
    secrets = _state.secrets
    if not secrets:
        return value
    return _redact(value, secrets)


def _redact(value: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {_redact(key, secrets) if isinstance(key, str) else key: _redact(item, secrets)
                for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redact(item, secrets) for item in value]
    if value is None or isinstance(value, int | float):
        return value
    # Anything else is written as str(value) (json.dumps default=str): redact that text.
    return _redact(str(value), secrets)


def format_printf(template: object, args: tuple[Any, ...]) -> str:
    """Node ``util.format``-style formatting: ``%s``, ``%d``/``%i``, ``%f``, ``%j``, ``%o``,
    ``%O``, ``%%``; arguments left over are appended, separated by spaces."""
    if not isinstance(template, str):
        return " ".join(_as_text(item) for item in (template, *args))
    if not args:
        return template
    pieces: list[str] = []
    remaining = list(args)
    index = 0
    length = len(template)
    while index < length:
        char = template[index]
        if char == "%" and index + 1 < length:
            spec = template[index + 1]
            if spec == "%":
                pieces.append("%")
                index += 2
                continue
            if spec in "sdifjoO" and remaining:
                pieces.append(_format_one(spec, remaining.pop(0)))
                index += 2
                continue
        pieces.append(char)
        index += 1
    text = "".join(pieces)
    if remaining:
        text = " ".join([text, *(_as_text(item) for item in remaining)])
    return text


def _format_one(spec: str, value: Any) -> str:
    if spec == "s":
        return _as_text(value)
    if spec in "di":
        return _as_number(value, integer=True)
    if spec == "f":
        return _as_number(value, integer=False)
    return _as_json(value)  # j, o, O


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else _as_json(value)


def _as_number(value: Any, *, integer: bool) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "NaN"
    if integer or number.is_integer():
        return str(int(number))
    return repr(number)


def _as_json(value: Any) -> str:
    try:
        return stringify(value, default=str)
    except (TypeError, ValueError):
        return str(value)


def error_fields(error: BaseException) -> dict[str, Any]:
    """The bunyan ``err`` field: ``{message, name, stack[, code]}``."""
    fields: dict[str, Any] = {
        "message": str(error),
        "name": type(error).__name__,
        "stack": "".join(traceback.format_exception(error)).rstrip("\n"),
    }
    code = getattr(error, "code", None)
    if isinstance(code, (str, int)):
        fields["code"] = code
    return fields


class Logger:
    """A named logger with bound fields. Calls: ``log.info(msg, *args, err=exc, **fields)``;
    ``args`` fill ``%s %d %j`` placeholders in ``msg``."""

    __slots__ = ("_fields", "name")

    def __init__(self, name: str, fields: dict[str, Any] | None = None) -> None:
        self.name = name
        self._fields = {k: v for k, v in (fields or {}).items() if k not in _CORE_FIELDS}

    def child(self, **fields: Any) -> Logger:
        """A logger that adds ``fields`` to every record."""
        return Logger(self.name, {**self._fields, **fields})

    @staticmethod
    def enabled_for(level: int) -> bool:
        return level >= _state.level

    def trace(self, msg: object, /, *args: Any, **fields: Any) -> None:
        if _state.level <= TRACE:
            self._write(TRACE, msg, args, fields)

    def debug(self, msg: object, /, *args: Any, **fields: Any) -> None:
        if _state.level <= DEBUG:
            self._write(DEBUG, msg, args, fields)

    def info(self, msg: object, /, *args: Any, **fields: Any) -> None:
        if _state.level <= INFO:
            self._write(INFO, msg, args, fields)

    def warn(self, msg: object, /, *args: Any, **fields: Any) -> None:
        if _state.level <= WARN:
            self._write(WARN, msg, args, fields)

    warning = warn

    def error(self, msg: object, /, *args: Any, **fields: Any) -> None:
        if _state.level <= ERROR:
            self._write(ERROR, msg, args, fields)

    def fatal(self, msg: object, /, *args: Any, **fields: Any) -> None:
        if _state.level <= FATAL:
            self._write(FATAL, msg, args, fields)

    def log(self, level: int, msg: object, /, *args: Any, **fields: Any) -> None:
        if level >= _state.level:
            self._write(level, msg, args, fields)

    def _write(
        self, level: int, msg: object, args: tuple[Any, ...], fields: dict[str, Any],
    ) -> None:
        try:
            line = self._render(level, msg, args, fields)
        except Exception as exc:  # noqa: BLE001 - a log call must never break the caller
            line = self._render(
                level,
                "Log record could not be rendered",
                (),
                {
                    "renderError": type(exc).__name__,
                },
            )
        stream = _state.stream or sys.stdout
        with _state.lock:
            stream.write(line)
            stream.flush()

    def _render(
        self, level: int, msg: object, args: tuple[Any, ...], fields: dict[str, Any],
    ) -> str:
        record: dict[str, Any] = {
            "name": self.name,
            "hostname": _state.hostname,
            "pid": os.getpid(),
        }
        record.update(_state.context)
        record.update(self._fields)
        error = fields.pop("err", None)
        record.update({k: v for k, v in fields.items() if k not in _CORE_FIELDS})
        if isinstance(error, BaseException):
            record["err"] = error_fields(error)
        elif error is not None:
            record["err"] = error
        record["level"] = level
        record["msg"] = format_printf(msg, args)
        now = datetime.now(UTC)
        record["time"] = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
        record["v"] = 0
        return (
            stringify(redact(record), default=str)
            + "\n"
        )


def get_logger(name: str = "sailor", **fields: Any) -> Logger:
    """The ``sailor`` (runtime) or ``component`` logger, optionally with bound fields."""
    return Logger(name, fields)


class _StdlibBridge(logging.Handler):
    """Forwards records of the standard ``logging`` module (aiormq, urllib3, …) as
    bunyan lines, redacted like ours, instead of plain text on stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        level = {logging.DEBUG: DEBUG, logging.INFO: INFO, logging.WARNING: WARN}.get(
            record.levelno, ERROR if record.levelno < logging.CRITICAL else FATAL
        )
        if level >= _state.level:
            get_logger("sailor").log(level, record.getMessage(), logger=record.name)


def install_stdlib_bridge(level: int = logging.WARNING) -> None:
    """Route the standard library's log records at ``level`` and above through this module."""
    root = logging.getLogger()
    if not any(isinstance(handler, _StdlibBridge) for handler in root.handlers):
        root.addHandler(_StdlibBridge())
    root.setLevel(level)
