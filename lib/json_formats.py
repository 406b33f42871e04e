"""The answer formats that ask for JSON, the same for every API surface: JSON mode
(`json_object`) and Structured Outputs (`json_schema`)."""

from __future__ import annotations

from typing import Any

JSON_FORMATS = frozenset({"json_object", "json_schema"})


def asks_for_json(format_object: Any) -> bool:
    """Whether a format object (Chat's `response_format`, Responses' `text.format`) asks
    for a JSON answer."""
    return isinstance(format_object, dict) and format_object.get("type") in JSON_FORMATS
