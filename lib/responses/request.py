"""Building the Responses API request body from the incoming message: pure functions;
and the one table of the places in a request that take an image or a file."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from lib.content_parts import foreign_parts
from lib.model_names import is_deep_research

DEFAULT_IMAGE_DETAIL = "auto"  # the API's default; its schema marks `detail` required
# Every place of a Responses request that takes an image or a file (the official
# document's CreateResponse): the names on the way to the object, EACH standing for every
# element of a list or every value of an object. tests/hostile/test_attachment_places.py
# derives these from the document.
EACH = "*"
ATTACHMENT_PLACES: tuple[tuple[str, ...], ...] = (
    ("input", EACH, "content", EACH),  # a message's parts: input_image, input_file
    ("input", EACH, "output", EACH),  # a function (or custom tool) call output's parts
    ("input", EACH, "output"),  # a computer call output: its computer_screenshot
    ("prompt", "variables", EACH),  # a stored prompt's variables
    ("tools", EACH, "input_image_mask"),  # the image_generation tool's mask
    ("input", EACH, "tools", EACH, "input_image_mask"),  # the same, in tools an item lists
)
IMAGE, FILE = "image", "file"
# What the object at such a place is, told by its `type` (or, untyped, by its name); an
# image is at its `image_url`, a file at its `file_url` or `file_data`.
KINDS_BY_TYPE = {"input_image": IMAGE, "computer_screenshot": IMAGE, "input_file": FILE}
KINDS_BY_NAME = {"input_image_mask": IMAGE}
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
    for _place, part, _kind in attachment_places(out):
        if part.get("type") == "input_image":
            part.setdefault("detail", DEFAULT_IMAGE_DETAIL)
    return out


def attachment_places(body: Any) -> Iterator[tuple[str, dict[str, Any], str]]:
    """`(place, object, kind)` for every image or file of `body` at one of the
    ATTACHMENT_PLACES (kind IMAGE or FILE; place as texts name it, e.g.
    ``input[2].output[0]``, ``prompt.variables.photo``). Linear in the body's size."""
    for names in ATTACHMENT_PLACES:
        for place, found in _objects_at(body, names, ""):
            kind = KINDS_BY_TYPE.get(str(found.get("type"))) or KINDS_BY_NAME.get(names[-1])
            if kind is not None:
                yield place, found, kind


def _objects_at(node: Any, names: tuple[str, ...], place: str
                ) -> Iterator[tuple[str, dict[str, Any]]]:
    if not names:
        if isinstance(node, dict):
            yield place, node
        return
    name, rest = names[0], names[1:]
    if name == EACH and isinstance(node, list):
        children: Any = ((f"{place}[{index}]", child) for index, child in enumerate(node))
    elif name == EACH and isinstance(node, dict):
        children = ((f"{place}.{key}", child) for key, child in node.items())
    elif name != EACH and isinstance(node, dict) and name in node:
        children = ((f"{place}.{name}" if place else name, node[name]),)
    else:
        return
    for child_place, child in children:
        yield from _objects_at(child, rest, child_place)


def misdirected(body: dict[str, Any]) -> list[str]:
    """The signs that `body` was written for Send Request (Chat Completions): `messages`,
    and Chat Completions' content parts in `input`."""
    problems = []
    if "messages" in body:
        problems.append("messages: this looks like a Send Request body (messages); Create "
                        "Response takes input (a text, or a list of role/content messages), "
                        "or send it to Send Request")
    return problems + foreign_parts(body.get("input"), "input", CHAT_PARTS,
                                    other_api="Chat Completions (Send Request)",
                                    action="Create Response")
