"""The stand-in's ``POST /v1/moderations``: answers shaped like the API's.

A text is flagged for violence when it holds one of :data:`VIOLENT_WORDS`, an image when
its data is :data:`FLAGGED_IMAGE_MARK` somewhere; everything else scores low. One result
per text of a list of texts; one result for a text or for a list of parts. Like the API,
which fetches images itself from the internet, the stand-in takes an image as a data URL
or a public https URL only (it fetches nothing): anything else (the platform's storage, a
host inside the network) is refused, so a test sees whether the step sent it inline.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

from tests.support.openai_json_routes import JsonRoute

REQUEST_SCHEMA = "CreateModerationRequest"
ANSWER_SCHEMA = "CreateModerationResponse"
PATH = "/v1/moderations"
DEFAULT_MODEL = "omni-moderation-latest"
VIOLENT_WORDS = ("kill", "murder")
FLAGGED_IMAGE_MARK = b"VIOLENT"
CATEGORIES = ("hate", "hate/threatening", "harassment", "harassment/threatening", "illicit",
              "illicit/violent", "self-harm", "self-harm/intent", "self-harm/instructions",
              "sexual", "sexual/minors", "violence", "violence/graphic")
# The categories the API also scores for images (the others apply to text only).
IMAGE_CATEGORIES = frozenset({"self-harm", "self-harm/intent", "self-harm/instructions",
                              "sexual", "violence", "violence/graphic"})
DATA_PREFIX = "data:image/"
LOCAL_HOSTS = ("https://127.", "https://localhost", "https://10.", "https://192.168.")


def refusal(message: str, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "param": param,
                      "code": None}}


def image_data(url: str) -> bytes | None:
    """The bytes of a data URL; b"" for a public https URL; None for what the API could
    not fetch."""
    if url.startswith(DATA_PREFIX) and ";base64," in url:
        try:
            return base64.b64decode(url.split(",", 1)[1], validate=True)
        except ValueError:
            return None
    if url.startswith("https://") and not url.startswith(LOCAL_HOSTS):
        return b""
    return None


def result(texts: list[str], images: list[bytes]) -> dict[str, Any]:
    """One result for texts and images classified together."""
    violent = any(word in text.lower() for text in texts for word in VIOLENT_WORDS) or any(
        FLAGGED_IMAGE_MARK in data for data in images)
    flagged = {name: violent and name == "violence" for name in CATEGORIES}
    scores = {name: 0.91 if flagged[name] else 0.0001 for name in CATEGORIES}
    applied = {name: (["text"] if texts else []) + (
        ["image"] if images and name in IMAGE_CATEGORIES else []) for name in CATEGORIES}
    return {"flagged": violent, "categories": flagged, "category_scores": scores,
            "category_applied_input_types": applied}


def moderation_answer(request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """(status, body) for a request the official document accepts."""
    value = request["input"]
    if isinstance(value, str):
        results = [result([value], [])]
    elif all(isinstance(item, str) for item in value):
        results = [result([text], []) for text in value]
    else:
        texts = [part["text"] for part in value if part["type"] == "text"]
        images = []
        for index, part in enumerate(value):
            if part["type"] != "image_url":
                continue
            data = image_data(part["image_url"]["url"])
            if data is None:
                return 400, refusal("Invalid image URL: the image could not be downloaded",
                                    f"input[{index}].image_url.url")
            images.append(data)
        results = [result(texts, images)]
    model = request.get("model") or DEFAULT_MODEL
    return 200, {"id": f"modr-{uuid.uuid4().hex[:24]}", "model": model,
                 "results": results}


MODERATIONS_ROUTE = JsonRoute(PATH, REQUEST_SCHEMA, moderation_answer)
