"""Building the messages a component emits or returns."""

from __future__ import annotations

import uuid
from typing import Any


def new_message(
    body: Any = None,
    headers: dict[str, Any] | None = None,
    attachments: dict[str, Any] | None = None,
    id: str | None = None,  # noqa: A002 - the platform's field name
) -> dict[str, Any]:
    """A message ``{id, body, headers, attachments}``; ``id`` defaults to a new UUIDv4."""
    return {
        "id": id if id is not None else str(uuid.uuid4()),
        "body": {} if body is None else body,
        "headers": dict(headers or {}),
        "attachments": dict(attachments or {}),
    }
