"""The ``{name, message, stack}`` object an emitted error or rebound becomes
(docs/protocol.md#error-payload).

Kept apart from the publisher so that the local runner prints what the platform would
receive without importing the AMQP client.
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from typing import Any

NOT_AVAILABLE = "Not Available"


def normalize_error(value: Any) -> dict[str, Any]:
    """The ``{name, message, stack}`` object of an emitted error or rebound
    (docs/protocol.md#error-payload)."""
    if isinstance(value, BaseException):
        name = getattr(value, "error_name", None) or type(value).__name__
        stack = "".join(traceback.format_exception(value)).rstrip("\n") or NOT_AVAILABLE
        return {"name": name, "message": str(value), "stack": stack}
    if isinstance(value, Mapping) and "message" in value:
        return {
            "name": value.get("name") or "Error",
            "message": value["message"],
            "stack": value.get("stack") or NOT_AVAILABLE,
        }
    return {"name": "Error", "message": value or NOT_AVAILABLE, "stack": NOT_AVAILABLE}
