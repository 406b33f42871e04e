"""JavaScript value semantics that the Node sailor's observable behaviour depends on."""

from __future__ import annotations

from typing import Any


def is_empty(value: Any) -> bool:
    """lodash ``isEmpty``: ``None``, numbers, booleans and empty containers are empty."""
    if value is None or isinstance(value, bool | int | float):
        return True
    if isinstance(value, str | list | tuple | dict):
        return len(value) == 0
    return False
