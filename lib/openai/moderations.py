"""The Moderations API call: ``POST /moderations``, one request, its JSON answer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lib.openai.client import OpenAIClient
from lib.openai.endpoints import post_json
from lib.openai.paths import MODERATIONS_PATH


def create_moderation(client: OpenAIClient, body: Mapping[str, Any], **call: Any
                      ) -> dict[str, Any]:
    """POST /moderations: the answer (`id`, `model`, `results`). `call`: `timeout_s`,
    `logger`, `stop`, as for ``post_json``."""
    return post_json(client, MODERATIONS_PATH, body, **call)
