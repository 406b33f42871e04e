"""Building the Chat Completions request body from the incoming message: pure functions."""

from __future__ import annotations

import copy
import re
from typing import Any

from lib.compat import OPENAI, adapt_request

# o1, o3, o4-mini, ... and the gpt-5 family (gpt-5, gpt-5-mini, gpt-5.1, gpt-5.2-codex, ...).
_REASONING_MODEL = re.compile(r"^(o\d+|gpt-5)(?![a-z0-9])", re.IGNORECASE)


def base_model_id(model: str) -> str:
    """The model name without a fine-tune wrapper or a provider prefix.

    ``ft:gpt-4o-mini:acme::abc`` -> ``gpt-4o-mini``; ``openai/o3`` -> ``o3``.
    """
    name = model.strip()
    if name.startswith("ft:"):
        name = name[3:].split(":", 1)[0]
    return name.rsplit("/", 1)[-1]


def is_reasoning_model(model: str) -> bool:
    """True for the o-series and the gpt-5 families, which take `max_completion_tokens`."""
    return bool(_REASONING_MODEL.match(base_model_id(model)))


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
    server, `lib.compat.adapt_request` rewrites the result last.
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
