"""The stand-in's ``POST /v1/embeddings``: answers shaped like the API's, limits like the API's.

Each text gets a deterministic embedding (from a hash of the text; `dimensions` numbers,
:data:`DEFAULT_DIMENSIONS` without), as floats or as base64 little-endian 32-bit floats.
The API's limits are kept, with the stand-in's own token count (:func:`tokens_of`, about
four bytes a token): a text over :data:`MAX_INPUT_TOKENS` or a request over
:data:`MAX_REQUEST_TOKENS` is refused with the API's wording; more than 2,048 texts are
refused by the official document's request schema (the stand-in's validator).
"""

from __future__ import annotations

import base64
import hashlib
import struct
from typing import Any

from tests.support.openai_json_routes import JsonRoute

REQUEST_SCHEMA = "CreateEmbeddingRequest"
ANSWER_SCHEMA = "CreateEmbeddingResponse"
PATH = "/v1/embeddings"
DEFAULT_DIMENSIONS = 8
MAX_INPUT_TOKENS = 8192
MAX_REQUEST_TOKENS = 300_000


def tokens_of(text: str) -> int:
    """The stand-in's token count: a token per four UTF-8 bytes, at least one."""
    return max(1, -(-len(text.encode("utf-8")) // 4))


def vector_of(text: str, dimensions: int) -> list[float]:
    """Numbers in [-1, 1) that depend on the text only (as 32-bit floats)."""
    seed = hashlib.sha256(text.encode("utf-8")).digest()
    numbers = []
    for position in range(dimensions):
        byte = seed[position % len(seed)] ^ (position * 7 % 256)
        numbers.append(struct.unpack("<f", struct.pack("<f", byte / 128 - 1))[0])
    return numbers


def encoded(numbers: list[float]) -> str:
    return base64.b64encode(struct.pack(f"<{len(numbers)}f", *numbers)).decode("ascii")


def refusal(message: str, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "param": param,
                      "code": None}}


def embeddings_answer(request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """(status, body) for a request the official document accepts."""
    value = request["input"]
    texts = [value] if isinstance(value, str) else list(value)
    counts = [tokens_of(text) for text in texts]
    for count in counts:
        if count > MAX_INPUT_TOKENS:
            return 400, refusal(f"This model's maximum context length is {MAX_INPUT_TOKENS} "
                                f"tokens, however you requested {count} tokens ({count} in "
                                "your prompt; 0 for the completion). Please reduce your "
                                "prompt; or completion length.")
    if sum(counts) > MAX_REQUEST_TOKENS:
        return 400, refusal(f"Requested {sum(counts)} tokens, max {MAX_REQUEST_TOKENS} "
                            "tokens per request", "input")
    dimensions = request.get("dimensions") or DEFAULT_DIMENSIONS
    as_base64 = request.get("encoding_format") == "base64"
    data = []
    for index, text in enumerate(texts):
        numbers = vector_of(text, dimensions)
        data.append({"object": "embedding", "index": index,
                     "embedding": encoded(numbers) if as_base64 else numbers})
    return 200, {"object": "list", "data": data, "model": request["model"],
                 "usage": {"prompt_tokens": sum(counts), "total_tokens": sum(counts)}}


EMBEDDINGS_ROUTE = JsonRoute(PATH, REQUEST_SCHEMA, embeddings_answer)
