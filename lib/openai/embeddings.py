"""The Embeddings API call: ``POST /embeddings``, one request, its JSON answer."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from lib.openai.client import OpenAIClient
from lib.openai.endpoints import post_json
from lib.openai.limits import MIB, AnswerLimits
from lib.openai.paths import EMBEDDINGS_PATH

# An answer of floats is large by design: up to 2,097,152 numbers (lib.embeddings.request
# sizes the requests so), about 48 MiB of JSON; parsed, a float takes 32 bytes (a small
# object takes up to 70), so these bounds keep it near 70 MB.
EMBEDDINGS_ANSWER = AnswerLimits(max_bytes=64 * MIB, max_values=2_200_000)


def create_embeddings(
    client: OpenAIClient, body: Mapping[str, Any], *, timeout_s: float, logger: Any = None,
    stop: threading.Event | None = None,
) -> dict[str, Any]:
    """POST /embeddings: the answer (`data`, `model`, `usage`). A server without the endpoint
    fails with an error that names it; `stop` ends the call (and its retries)."""
    return post_json(client, EMBEDDINGS_PATH, body, timeout_s=timeout_s, logger=logger, stop=stop,
                     answer_limits=EMBEDDINGS_ANSWER)
