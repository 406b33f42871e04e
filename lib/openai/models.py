"""The Models API call: the list of models the credentials may use."""

from __future__ import annotations

from typing import Any

from lib.openai.client import OpenAIClient
from lib.openai.errors import OpenAIError
from lib.openai.limits import LIST_TIMEOUT_S
from lib.openai.paths import MODELS_PATH


def list_models(
    client: OpenAIClient, *, timeout_s: float = LIST_TIMEOUT_S, logger: Any = None
) -> list[dict[str, Any]]:
    """GET /models: the `data` list."""
    document = client.request_json("GET", MODELS_PATH, timeout_s=timeout_s, logger=logger)
    models = document.get("data")
    if not isinstance(models, list):
        raise OpenAIError("The model list answer has no 'data' list; check the base URL")
    return models
