"""JavaScript value semantics that the Node sailor's observable behaviour depends on."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any


def is_empty(value: Any) -> bool:
    """lodash ``isEmpty``: ``None``, numbers, booleans and empty containers are empty."""
    if value is None or isinstance(value, bool | int | float):
        return True
    if isinstance(value, str | list | tuple | dict):
        return len(value) == 0
    return False


def is_truthy(value: Any) -> bool:
    """JavaScript truthiness: ``None``, ``False``, 0, NaN and ``""`` are falsy; every
    object and array, empty ones included, is truthy."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, int | float):
        return value != 0 and not math.isnan(value)
    if isinstance(value, str):
        return value != ""
    return True


def stringify(value: Any, *, default: Callable[[Any], Any] | None = None) -> str:
    """JSON as JavaScript's ``JSON.stringify`` writes it: no spaces, UTF-8 kept, and
    ``NaN``, ``Infinity`` and ``-Infinity`` as ``null``. Python's ``json`` would write
    ``NaN``, which is not JSON: the next step (a Node one) could not parse the message.

    ``default`` turns other objects into JSON values, as in ``json.dumps``."""
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False,
                          default=default)
    except ValueError:
        pass  # a non-finite number somewhere (the common case pays nothing for this)

    def finite_default(item: Any) -> Any:
        if default is None:
            raise TypeError(f"Object of type {type(item).__name__} is not JSON serializable")
        return _finite(default(item))

    return json.dumps(_finite(value), separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False, default=finite_default)


def _finite(value: Any) -> Any:
    """``value`` with every non-finite float replaced by ``None`` (in keys: its JS name)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {_finite_key(key): _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def _finite_key(key: Any) -> Any:
    if isinstance(key, float) and not math.isfinite(key):
        return "NaN" if math.isnan(key) else ("Infinity" if key > 0 else "-Infinity")
    return key
