"""Send Request's output message body: the API's answer, whole, plus `parsed` for JSON
answers."""

from __future__ import annotations

from typing import Any

from lib.errors import OutputParseError
from lib.json_formats import asks_for_json, parse_json_text

_FINISH_HINTS = {
    "length": "the answer was cut off at the token limit; raise max_completion_tokens",
    "content_filter": "the answer was cut by the content filter",
}


def json_format_requested(body: dict[str, Any]) -> bool:
    """Whether the request asked for JSON (JSON mode or Structured Outputs)."""
    return asks_for_json(body.get("response_format"))


def with_parsed(response: dict[str, Any]) -> dict[str, Any]:
    """`response` whose choices' messages carry `parsed` (content as JSON): a new top
    object, choices and messages; everything else shared, not copied.

    A message without text content (a refusal, tool calls) gets ``parsed: null``. Text
    that is not JSON is an :class:`OutputParseError` that names the choice and its
    finish_reason (a `length` answer is almost always cut-off JSON).
    """
    choices = response.get("choices")
    if not isinstance(choices, list):
        return response
    return {**response, "choices": [_with_parsed(position, choice)
                                    for position, choice in enumerate(choices)]}


def _with_parsed(position: int, choice: Any) -> Any:
    message = choice.get("message") if isinstance(choice, dict) else None
    if not isinstance(message, dict):
        return choice
    content = message.get("content")
    no_text = not (isinstance(content, str) and content.strip())
    if not isinstance(content, str) or (
            no_text and (message.get("refusal") or message.get("tool_calls")
                         or message.get("function_call"))):
        return {**choice, "message": {**message, "parsed": None}}
    try:
        parsed = parse_json_text(content)
    except (ValueError, RecursionError):
        finish_reason = choice.get("finish_reason")
        index = choice.get("index", position)
        hint = _FINISH_HINTS.get(str(finish_reason), "the model did not answer in JSON")
        raise OutputParseError(
            f"choices[{index}].message.content is not valid JSON "
            f"(finish_reason {finish_reason!r}): {hint}"
        ) from None
    return {**choice, "message": {**message, "parsed": parsed}}


def build_output(request_body: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    """The body of the emitted message."""
    return with_parsed(response) if json_format_requested(request_body) else response
