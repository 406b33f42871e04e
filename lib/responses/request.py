"""Building the Responses API request body from the incoming message: pure functions."""

from __future__ import annotations

import copy
from typing import Any

from lib.content_parts import content_parts
from lib.model_names import is_deep_research

DEFAULT_IMAGE_DETAIL = "auto"  # the API's default; its schema marks `detail` required
# Content parts of Chat Completions, and the Responses API part for the same thing.
CHAT_PARTS = {"text": "input_text", "image_url": "input_image", "file": "input_file"}


def build_response_request(body: dict[str, Any], model: str) -> dict[str, Any]:
    """The body to POST to /responses: the input, untouched but for these rules.

    - `model` is the configured one (the input's own `model`, if any, is replaced);
    - deep-research models run in the background unless the input says otherwise;
    - a background job is stored (`store: true`) unless the input says otherwise, so that
      it can be polled and found again after a restart;
    - an `input_image` part without `detail` gets the default, `auto`.
    Unknown fields pass through. The input is not modified.
    """
    out = copy.deepcopy(body)
    out["model"] = model
    if is_deep_research(model):
        out.setdefault("background", True)
    if out.get("background") is True:
        out.setdefault("store", True)
    for _place, part in content_parts(out.get("input"), "input"):
        if part.get("type") == "input_image":
            part.setdefault("detail", DEFAULT_IMAGE_DETAIL)
    return out


def misdirected(body: dict[str, Any]) -> list[str]:
    """The signs that `body` was written for Send Request (Chat Completions): `messages`,
    and Chat Completions' content parts in `input`."""
    problems = []
    if "messages" in body:
        problems.append("messages: this looks like a Send Request body (messages); Create "
                        "Response takes input (a text, or a list of role/content messages), "
                        "or send it to Send Request")
    for place, part in content_parts(body.get("input"), "input"):
        kind = part.get("type")
        if isinstance(kind, str) and kind in CHAT_PARTS:
            problems.append(
                f"{place}.type: {kind} is a content part of Chat Completions (Send Request); "
                f"Create Response takes {CHAT_PARTS[kind]}")
    return problems
