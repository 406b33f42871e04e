"""The ``{name, message, stack}`` object an emitted error or rebound becomes
(docs/protocol.md#error-payload).

Kept apart from the publisher so that the local runner prints what the platform would
receive without importing the AMQP client.

The message and the stack are capped (``MAX_FIELD_CHARS`` each, with a note saying how
long the text was): an error of any size must still reach the platform, which a huge
one would not (memory, event loop time, the broker's message size limit).
"""

from __future__ import annotations

import traceback
from collections.abc import Iterable, Mapping
from typing import Any

NOT_AVAILABLE = "Not Available"
MAX_FIELD_CHARS = 64 * 1024


def normalize_error(value: Any) -> dict[str, Any]:
    """The ``{name, message, stack}`` object of an emitted error or rebound
    (docs/protocol.md#error-payload).

    An exception whose class has a truthy ``omit_traceback`` attribute (a user's
    mistake, where a traceback would only be noise) gets ``stack`` = ``"name: message"``.
    """
    if isinstance(value, BaseException):
        name = getattr(value, "error_name", None) or type(value).__name__
        message = cap(str(value))
        if getattr(type(value), "omit_traceback", False):
            stack = f"{name}: {message}"
        else:
            lines = traceback.TracebackException.from_exception(value).format()
            stack = cap_pieces(lines).rstrip("\n") or NOT_AVAILABLE
        return {"name": name, "message": message, "stack": stack}
    if isinstance(value, Mapping) and "message" in value:
        return {
            "name": value.get("name") or "Error",
            "message": _cap_if_text(value["message"]),
            "stack": _cap_if_text(value.get("stack") or NOT_AVAILABLE),
        }
    return {"name": "Error", "message": _cap_if_text(value or NOT_AVAILABLE),
            "stack": NOT_AVAILABLE}


def cap(text: str, limit: int = MAX_FIELD_CHARS) -> str:
    """``text``, cut to ``limit`` characters with a note when it is longer."""
    if len(text) <= limit:
        return text
    return text[:limit] + _cut_note(len(text))


def cap_pieces(pieces: Iterable[str], limit: int = MAX_FIELD_CHARS) -> str:
    """The concatenation of ``pieces``, cut like :func:`cap`, without ever building the
    whole text (a traceback repeats the message, however long it is)."""
    kept: list[str] = []
    size = 0
    remaining = iter(pieces)
    for piece in remaining:
        if size + len(piece) > limit:
            kept.append(piece[: limit - size])
            total = size + len(piece) + sum(len(rest) for rest in remaining)
            return "".join(kept) + _cut_note(total)
        kept.append(piece)
        size += len(piece)
    return "".join(kept)


def _cap_if_text(value: Any) -> Any:
    return cap(value) if isinstance(value, str) else value


def _cut_note(total: int) -> str:
    return f"... [cut by the sailor: {total} characters in all]"
