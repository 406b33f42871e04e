"""JavaScript value semantics that the Node sailor's observable behaviour depends on."""

from __future__ import annotations

import math
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
