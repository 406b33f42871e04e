"""The Moderations API call: ``POST /moderations``, one request, its JSON answer."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from lib.openai.client import OpenAIClient
from lib.openai.endpoints import post_json
from lib.openai.paths import MODERATIONS_PATH


def create_moderation(
    client: OpenAIClient, body: Mapping[str, Any], *, timeout_s: float, logger: Any = None,
    stop: threading.Event | None = None,
) -> dict[str, Any]:
    """POST /moderations: the answer (`id`, `model`, `results`). A server without the endpoint
    fails with an error that names it; `stop` ends the call (and its retries)."""
    return post_json(client, MODERATIONS_PATH, body, timeout_s=timeout_s, logger=logger, stop=stop)
