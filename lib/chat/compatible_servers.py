"""OpenAI-compatible servers (llama.cpp, Ollama, vLLM, LM Studio, ...): what they get instead.

Why each rewrite: docs/openai-api.md#compatible-servers.

The credentials' Server type says which API dialect the base URL speaks; it is never
guessed from the host. For "openai" nothing here changes the request. For "compatible"
the request is rewritten into the older, common subset those servers take, without
changing what it asks for:

- `developer` messages are sent as `system` (the role is OpenAI's newer name for it);
- text-only content arrays of system, developer, assistant and tool messages are sent as
  one string (several servers validate those contents as strings);
- an assistant message's `content: null` (beside `tool_calls`) is left out;
- `max_completion_tokens` is sent as `max_tokens` (servers ignore the newer name and then
  generate up to their context size); an explicit `max_tokens` is kept.

`response_format` `json_schema` is sent as it is (vLLM, Ollama, LM Studio and llama.cpp's
own server take it). A server that refuses it (llama-cpp-python's answers with a
validation error naming `response_format`) gets the request once more with
`{"type": "json_object", "schema": ...}`, the form llama.cpp takes; the log says so.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from typing import Any

from lib.config import COMPATIBLE
from lib.openai.errors import (
    BadRequestError,
    InternalServerError,
    OpenAIError,
    UnprocessableEntityError,
)

_STRING_CONTENT_ROLES = frozenset({"system", "developer", "assistant", "tool"})
# A request-shaped refusal: validation errors come back as 400, 422 or (llama-cpp-python) 500.
_REFUSALS = (BadRequestError, UnprocessableEntityError, InternalServerError)


def adapt_request(body: dict[str, Any], server_type: str) -> dict[str, Any]:
    """The body to send to a server of `server_type` (a copy; the input is not modified)."""
    if server_type != COMPATIBLE:
        return body
    out = copy.deepcopy(body)
    messages = out.get("messages")
    if isinstance(messages, list):
        out["messages"] = [_compatible_message(message) for message in messages]
    if "max_completion_tokens" in out:
        limit = out.pop("max_completion_tokens")
        out.setdefault("max_tokens", limit)
    return out


def _compatible_message(message: Any) -> Any:
    if not isinstance(message, dict):
        return message
    out = dict(message)
    if out.get("role") == "developer":
        out["role"] = "system"
    content = out.get("content")
    if out.get("role") in _STRING_CONTENT_ROLES and isinstance(content, list) \
            and _is_text_parts(content):
        out["content"] = "\n".join(part["text"] for part in content)
    if out.get("role") == "assistant" and "content" in out and out["content"] is None:
        del out["content"]
    return out


def _is_text_parts(content: list[Any]) -> bool:
    return bool(content) and all(
        isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)
        for part in content
    )


def json_object_form(body: dict[str, Any]) -> dict[str, Any] | None:
    """The body with `json_schema` as llama.cpp's `json_object` + `schema`; None if n/a."""
    response_format = body.get("response_format")
    if not isinstance(response_format, dict) or response_format.get("type") != "json_schema":
        return None
    json_schema = response_format.get("json_schema")
    schema = json_schema.get("schema") if isinstance(json_schema, dict) else None
    form: dict[str, Any] = {"type": "json_object"}
    if isinstance(schema, dict):
        form["schema"] = schema
    return {**body, "response_format": form}


def refused_json_schema(error: OpenAIError) -> bool:
    """Whether a server's refusal is about `response_format` (so json_object may pass)."""
    return isinstance(error, _REFUSALS) and "response_format" in error.message


async def send_with_fallback(
    send: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]],
    body: dict[str, Any],
    server_type: str,
    logger: Any,
) -> dict[str, Any]:
    """`send(body)`; for a compatible server that refuses `json_schema`, once more as
    `json_object` + `schema`."""
    try:
        return await send(body)
    except OpenAIError as error:
        fallback = json_object_form(body) if server_type == COMPATIBLE else None
        if fallback is None or not refused_json_schema(error):
            raise
        logger.warning(
            "The server refused response_format json_schema (status %s); sending the "
            "schema again as response_format json_object with schema, the form llama.cpp "
            "takes", error.status,
        )
        return await send(fallback)
