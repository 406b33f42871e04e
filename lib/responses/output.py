"""The Create Response output: the Response whole, plus `output_text` and `parsed`.

`output_text` is what the official SDKs offer under that name: the `text` of every
`output_text` part of every `message` item, in order, joined without a separator ("" when
there is none). `parsed` (JSON formats only) is that text read as JSON.
"""

from __future__ import annotations

from typing import Any

from lib.errors import OutputParseError
from lib.json_formats import asks_for_json, parse_json_text
from lib.openai.errors import MAX_BODY_SNIPPET_CHARS, NO_SECRETS, shown
from lib.openai.responses import shown_id, status_of
from lib.redaction import Redactor
from lib.responses.errors import ResponseFailedError, ResponseRejectedError

# `error.code`s of a failed Response that are the server's, not the request's
SERVER_FAILURE_CODES = frozenset({"server_error", "rate_limit_exceeded", "vector_store_timeout"})
INCOMPLETE_HINTS = {
    "max_output_tokens": "max_output_tokens reached; raise it (it counts the reasoning tokens)",
    "content_filter": "the answer was cut by the content filter",
}


def output_text(response: dict[str, Any]) -> str:
    """The assistant's text: every `output_text` part of the `message` items, joined."""
    texts = []
    for item in response.get("output") or ():
        if not isinstance(item, dict) or item.get("type") != "message":
            continue
        for part in item.get("content") or ():
            if isinstance(part, dict) and part.get("type") == "output_text":
                text = part.get("text")
                if isinstance(text, str):
                    texts.append(text)
    return "".join(texts)


def json_format_requested(body: dict[str, Any]) -> bool:
    """Whether the request asked for JSON (`text.format` json_object or json_schema)."""
    text = body.get("text")
    return asks_for_json(text.get("format") if isinstance(text, dict) else None)


def incomplete_reason(response: dict[str, Any]) -> str:
    details = response.get("incomplete_details")
    reason = details.get("reason") if isinstance(details, dict) else None
    return str(reason) if reason else "no reason given"


def incomplete_warning(response: dict[str, Any]) -> str:
    """The warning logged for an `incomplete` Response."""
    reason = incomplete_reason(response)
    hint = INCOMPLETE_HINTS.get(reason, reason)
    return f"The response {shown_id(response)} is incomplete: {shown(hint)}"


def failure_of(response: dict[str, Any], redactor: Redactor = NO_SECRETS) -> ResponseFailedError:
    """The error for a `failed` Response: the API's own code and message (the error's
    constructor redacts them and the id: a server may echo what it was sent)."""
    error = response.get("error")
    error = error if isinstance(error, dict) else {}
    code = error.get("code")
    code = str(code) if code is not None else None
    message = redactor.text(shown(error.get("message") or "the response failed without a "
                                  "message", MAX_BODY_SNIPPET_CHARS) or "")
    error_class = ResponseFailedError if code in SERVER_FAILURE_CODES else ResponseRejectedError
    return error_class(f"The response {shown_id(response)} failed: {message}", code=code)


def parsed_of(response: dict[str, Any], text: str) -> Any:
    """`text` as JSON; None when the answer has no text (a refusal, tool calls) or was
    cut off (incomplete: the warning says why). Text of a completed answer that is not
    JSON is an `OutputParseError`."""
    if not text.strip():
        return None
    try:
        return parse_json_text(text)
    except (ValueError, RecursionError):
        if status_of(response) == "incomplete":
            return None
        raise OutputParseError(
            f"output_text of the response {shown_id(response)} is not valid JSON: "
            "the model did not answer in JSON"
        ) from None


def build_response_output(request: dict[str, Any], response: dict[str, Any],
                          redactor: Redactor = NO_SECRETS) -> dict[str, Any]:
    """The body of the emitted message (a `failed` Response raises its error instead):
    a new top object, its values shared with `response`, not copied."""
    if status_of(response) == "failed":
        raise failure_of(response, redactor)
    result = dict(response)
    result["output_text"] = output_text(result)
    if json_format_requested(request):
        result["parsed"] = parsed_of(result, result["output_text"])
    return result
