"""The answer formats that ask for JSON, the same for every API surface: JSON mode
(`json_object`) and Structured Outputs (`json_schema`); and the reading of such an
answer's text into `parsed`."""

from __future__ import annotations

import json
from typing import Any

from lib.openai.limits import CallLimits

JSON_FORMATS = frozenset({"json_object", "json_schema"})


def asks_for_json(format_object: Any) -> bool:
    """Whether a format object (Chat's `response_format`, Responses' `text.format`) asks
    for a JSON answer."""
    return isinstance(format_object, dict) and format_object.get("type") in JSON_FORMATS


def parse_json_text(text: str) -> Any:
    """A JSON answer's text, parsed (raises what `json.loads` raises); a text of more JSON
    values than an answer may hold is an `AnswerTooLargeError` before it is parsed (its
    objects would take far more memory than the text: lib.openai.budget)."""
    CallLimits().answer_budget().check_json(text, "JSON answer")
    return json.loads(text)
