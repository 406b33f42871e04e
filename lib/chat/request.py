"""Building the Chat Completions request body from the incoming message: pure functions."""

from __future__ import annotations

import copy
from typing import Any

from lib.chat.compatible_servers import adapt_request
from lib.config import OPENAI
from lib.content_parts import foreign_parts
from lib.model_names import is_reasoning_model

# Content parts of the Responses API, and the Chat Completions part for the same thing.
RESPONSES_PARTS = {"input_text": "text", "output_text": "text", "input_image": "image_url",
                   "input_file": "file"}


def build_request_body(
    body: dict[str, Any], model: str, server_type: str = OPENAI
) -> dict[str, Any]:
    """The body to POST to /chat/completions: the input, untouched but for these rules.

    - `model` is the configured one (the input's own `model`, if any, is replaced);
    - reasoning models get `max_tokens` as `max_completion_tokens` (an explicit
      `max_completion_tokens` wins);
    - a streamed request asks for the usage chunk, so that the assembled answer has
      `usage` like a non-streamed one (unless the input says otherwise).
    Unknown fields pass through. The input is not modified. For an OpenAI-compatible
    server, `lib.chat.compatible_servers.adapt_request` rewrites the result last.
    """
    out = copy.deepcopy(body)
    out["model"] = model
    if is_reasoning_model(model) and "max_tokens" in out:
        max_tokens = out.pop("max_tokens")
        out.setdefault("max_completion_tokens", max_tokens)
    if out.get("stream") is True:
        options = out.get("stream_options")
        if options is None:
            out["stream_options"] = {"include_usage": True}
        elif isinstance(options, dict):
            options.setdefault("include_usage", True)
    return adapt_request(out, server_type)


def misdirected(body: dict[str, Any]) -> list[str]:
    """The signs that `body` was written for Create Response (the Responses API): `input`
    without `messages`, and the Responses API's content parts."""
    problems = []
    if "input" in body and "messages" not in body:
        problems.append("input: this looks like a Create Response body (the Responses API's "
                        "input); Send Request takes messages, or send it to Create Response")
    return problems + foreign_parts(body.get("messages"), "messages", RESPONSES_PARTS,
                                    other_api="the Responses API (Create Response)",
                                    action="Send Request")
