"""Configuration of the step and of the credentials: parsed and validated up front.

The platform hands text fields over as strings (or leaves them out); everything is
normalised here, so the action works with typed values only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from lib.compat import OPENAI, SERVER_TYPES
from lib.errors import ConfigError
from lib.openai.client import DEFAULT_BASE_URL, OpenAIClient, get_client, normalize_base_url
from lib.openai.limits import DEFAULT_REQUEST_TIMEOUT_S, MAX_REQUEST_TIMEOUT_S


@dataclass(frozen=True)
class Connection:
    """What the OpenAI client needs: key, base URL and the optional billing headers."""

    api_key: str = ""
    base_url: str = DEFAULT_BASE_URL
    organization: str | None = None
    project: str | None = None
    server_type: str = OPENAI  # lib.compat: what the request is rewritten into

    def __repr__(self) -> str:  # never print the key
        return (
            f"Connection(base_url={self.base_url!r}, organization={self.organization!r}, "
            f"project={self.project!r}, server_type={self.server_type!r})"
        )

    def client(self) -> OpenAIClient:
        """The process-wide client for these credentials (pooled connections)."""
        return get_client(api_key=self.api_key, base_url=self.base_url,
                          organization=self.organization, project=self.project)


@dataclass(frozen=True)
class ActionConfig:
    connection: Connection
    model: str
    timeout_s: float


def _text(cfg: dict[str, Any], key: str) -> str | None:
    """A trimmed string field, or None when it is absent or blank."""
    value = cfg.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{key} must be text, got {type(value).__name__}")
    value = value.strip()
    return value or None


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


def parse_connection(cfg: dict[str, Any]) -> Connection:
    """Credentials (`apiKey`, `baseUrl`, `serverType`) plus the step's `organization` and
    `project`."""
    api_key = _text(cfg, "apiKey")
    if api_key is None:
        raise ConfigError("API Key is required: paste the secret key from platform.openai.com")
    return Connection(
        api_key=api_key,
        base_url=normalize_base_url(_text(cfg, "baseUrl")),
        organization=_text(cfg, "organization"),
        project=_text(cfg, "project"),
        server_type=parse_server_type(_text(cfg, "serverType")),
    )


def parse_positive_number(value: Any, *, default: float, maximum: float, problem: str) -> float:
    """A number field: blank means `default`; otherwise 0 < n <= `maximum`, else a
    `ConfigError` saying `problem` and the value given."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    problem = f"{problem}, got {value!r}"
    if isinstance(value, bool):
        raise ConfigError(problem)
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        raise ConfigError(problem) from None
    if not math.isfinite(number) or number <= 0 or number > maximum:
        raise ConfigError(problem)
    return number


def parse_timeout(value: Any) -> float:
    """`requestTimeout` in seconds: blank means the default; 0 < t <= MAX_REQUEST_TIMEOUT_S."""
    return parse_positive_number(
        value, default=DEFAULT_REQUEST_TIMEOUT_S, maximum=MAX_REQUEST_TIMEOUT_S,
        problem=("Request timeout must be a number of seconds between 1 and "
                 f"{MAX_REQUEST_TIMEOUT_S:g}"))


def parse_action_config(cfg: dict[str, Any]) -> ActionConfig:
    """The whole step configuration of Send Request, validated."""
    connection = parse_connection(cfg)
    model = _text(cfg, "model")
    if model is None:
        raise ConfigError("Model is required: pick one in the step configuration")
    return ActionConfig(
        connection=connection, model=model, timeout_s=parse_timeout(cfg.get("requestTimeout"))
    )
