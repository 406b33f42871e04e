"""The image requests, built from the validated message body and the step's model.

A generation is a JSON body; an edit is a multipart form whose images and mask are file
parts (added by the action from their sources) and whose other fields are text fields.
The images always come back as base64 in the answer: the dall-e models answer with links
unless asked otherwise, so they are asked for ``b64_json`` (the GPT image models refuse
the parameter, and send base64 anyway). Another server's model gets what the body says;
a link it answers with is downloaded under the download policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lib.errors import InputValidationError
from lib.model_names import DALL_E_2, DALL_E_3, GPT_IMAGE, image_model_family
from lib.openai.multipart import form_fields

IMAGE_FIELD = "image"
MASK_FIELD = "mask"
RESPONSE_FORMAT = "response_format"
BASE64 = "b64_json"
DEFAULT_COUNT = 1
# The longest prompt each model family takes (characters); another server's: the schema's.
MAX_PROMPT_CHARS = {GPT_IMAGE: 32_000, DALL_E_3: 4_000, DALL_E_2: 1_000}
# Streaming sends partial images as events: the images are emitted once, whole.
STREAMING_FIELDS = ("stream", "partial_images")


def generation_request(body: Mapping[str, Any], model: str) -> dict[str, Any]:
    """The JSON body of POST /images/generations: the message body with the step's model.

    Raises `InputValidationError` for what the model would refuse (a prompt over its
    limit, several dall-e-3 images) and for streaming."""
    family = image_model_family(model)
    problems = _common_problems(body, model, family)
    if family == DALL_E_3 and body.get("n", DEFAULT_COUNT) != DEFAULT_COUNT:
        problems.append("n must be 1 for dall-e-3 (it makes one image per request)")
    if problems:
        raise InputValidationError(problems)
    return {**body, "model": model, **_response_format(family)}


def edit_fields(body: Mapping[str, Any], model: str) -> list[tuple[str, str]]:
    """The edit form's text fields (the images and the mask are the action's file parts):
    the body without them, and the step's model.

    Raises `InputValidationError` as :func:`generation_request` does."""
    family = image_model_family(model)
    problems = _common_problems(body, model, family)
    if problems:
        raise InputValidationError(problems)
    rest = {name: value for name, value in body.items()
            if name not in (IMAGE_FIELD, MASK_FIELD, "model")}
    return [("model", model), *form_fields({**rest, **_response_format(family)})]


def image_references(body: Mapping[str, Any]) -> list[str]:
    """The images the body names (attachment names or URLs), in order; [] for none."""
    value = body.get(IMAGE_FIELD)
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def mask_reference(body: Mapping[str, Any]) -> str | None:
    """The mask the body names, None for none."""
    value = body.get(MASK_FIELD)
    return value if isinstance(value, str) else None


def requested_count(body: Mapping[str, Any]) -> int:
    """How many images the request asks for."""
    count = body.get("n")
    return count if isinstance(count, int) and not isinstance(count, bool) else DEFAULT_COUNT


def _common_problems(body: Mapping[str, Any], model: str, family: str | None) -> list[str]:
    problems = [f"{name} is not supported: the images are emitted as attachments once "
                "they are whole" for name in STREAMING_FIELDS
                if body.get(name) not in (None, False, 0)]
    limit = MAX_PROMPT_CHARS.get(family or "")
    prompt = body.get("prompt")
    if limit is not None and isinstance(prompt, str) and len(prompt) > limit:
        problems.append(f"prompt has {len(prompt):,} characters; {model} takes at most "
                        f"{limit:,}")
    if family == GPT_IMAGE and body.get(RESPONSE_FORMAT) is not None:
        problems.append(f"{RESPONSE_FORMAT} is not taken by the GPT image models (they "
                        "always answer in base64): remove it")
    return problems


def _response_format(family: str | None) -> dict[str, str]:
    """``b64_json`` for the dall-e models, nothing for the others (see the module doc)."""
    return {RESPONSE_FORMAT: BASE64} if family in (DALL_E_2, DALL_E_3) else {}
