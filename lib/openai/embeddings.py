"""The Embeddings API call: ``POST /embeddings``, one request, its JSON answer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lib.openai.client import OpenAIClient
from lib.openai.endpoints import post_json
from lib.openai.paths import EMBEDDINGS_PATH


def create_embeddings(client: OpenAIClient, body: Mapping[str, Any], **call: Any
                      ) -> dict[str, Any]:
    """POST /embeddings: the answer (`data`, `model`, `usage`). `call`: `timeout_s`,
    `logger`, `stop`, as for ``post_json``."""
    return post_json(client, EMBEDDINGS_PATH, body, **call)
