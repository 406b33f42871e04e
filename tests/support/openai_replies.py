"""What the stand-ins answer: a scripted or made reply, the API's error body, and the
official document's check of a request (shared by the OpenAI stand-in and its routes)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Validator = Callable[[str, Any], None]


@dataclass
class Reply:
    """One scripted answer. ``sse`` (a list of chunk dicts or raw lines) makes it a stream;
    ``data`` (bytes) or ``text`` is sent instead of ``json``, as ``content_type``."""

    status: int = 200
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    sse: list[Any] | None = None
    delay_s: float = 0.0
    done_marker: bool = True  # end the stream with `data: [DONE]` (Chat Completions)
    data: bytes | None = None
    text: str | None = None
    content_type: str = "application/json"

    def payload(self) -> bytes:
        if self.data is not None:
            return self.data
        if self.text is not None:
            return self.text.encode()
        return json.dumps(self.json).encode()


def error_body(message: str, type_: str, code: str | None = None,
               param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


NOT_JSON_REPLY_TEXT = "We could not parse the JSON body."


def not_json_object() -> Reply:
    """The API's 400 for a body that is not a JSON object."""
    return Reply(400, error_body(NOT_JSON_REPLY_TEXT, "invalid_request_error"))


def json_object(raw: bytes) -> dict[str, Any] | None:
    """The request body as a JSON object, or None when it is not one."""
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def contract_refusal(validator: Validator | None, violations: list[str], schema: str,
                     request: Any) -> Reply | None:
    """None when `request` matches the official document's `schema` (or nothing checks);
    else the violation, recorded, as the API's 400."""
    if validator is None:
        return None
    try:
        validator(schema, request)
    except Exception as exc:  # the contract's error, whatever its class
        violations.append(str(exc))
        return Reply(400, error_body(f"Invalid request: {exc}", "invalid_request_error"))
    return None
