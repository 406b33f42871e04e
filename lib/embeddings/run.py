"""Create Embeddings, sent: the requests of a split input one after another, their answers
merged; a text the server refuses as too long is named by its place in the input.

A server's refusal does not say which text was too long (OpenAI: "maximum context length
is 8192 tokens"; llama.cpp: "exceed context window of 2048"). Since a text never has more
tokens than UTF-8 bytes (``lib.embeddings.request``), only the texts of the refused
request with more bytes than the limit can be over it: those are named, the only one
exactly. When the server names the text itself (``input[3]``), that one is named.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from lib.embeddings.errors import InputTooLongError
from lib.embeddings.output import MergedEmbeddings
from lib.embeddings.request import EmbeddingsRequest, estimated_tokens
from lib.openai.client import OpenAIClient
from lib.openai.embeddings import create_embeddings
from lib.openai.errors import OpenAIError

REFUSAL_STATUSES = frozenset({400, 413, 422, 500})
SHOWN_CANDIDATES = 5
_LIMIT = re.compile(r"(?i)(?:maximum|max|window of|limit of|limit is)[^0-9]{0,40}(\d[\d,]{0,9})")
_NAMED_INPUT = re.compile(r"input\[(\d{1,9})\]")


def send_embeddings(
    client: OpenAIClient,
    request: EmbeddingsRequest,
    *,
    timeout_s: float,
    logger: Any,
    stop: threading.Event | None = None,
) -> dict[str, Any]:
    """Send every batch of `request` in order; the merged answer (``lib.embeddings.output``).
    `timeout_s` and `stop` hold for each request, as for one call of the client."""
    merged = MergedEmbeddings(request)
    count = len(request.batches)
    if count > 1:
        logger.info("The %s texts are sent in %s requests", str(len(request.texts)), str(count))
    for batch in request.batches:
        try:
            answer = create_embeddings(client, request.body(batch), timeout_s=timeout_s,
                                       logger=logger, stop=stop)
        except OpenAIError as error:
            if is_too_long_refusal(error):
                raise InputTooLongError.naming(error, too_long_text(request, batch, error)) \
                    from None
            raise
        merged.add(answer, batch)
    return merged.result()


def is_too_long_refusal(error: OpenAIError) -> bool:
    """Whether the server refused the request because a text has too many tokens."""
    if error.status not in REFUSAL_STATUSES:
        return False
    text = error.message.lower()
    if "context length" in text or "context window" in text:
        return True
    return "token" in text and any(word in text for word in ("too long", "too many",
                                                             "exceed", "maximum"))


def token_limit(message: str) -> int | None:
    """The limit a refusal names (``maximum context length is 8192 tokens``), if any."""
    match = _LIMIT.search(message)
    return int(match.group(1).replace(",", "")) if match else None


def too_long_text(request: EmbeddingsRequest, batch: range, error: OpenAIError) -> str:
    """The refusal's text, naming the text (or the texts) that can be too long."""
    said = f"the server: {error.message}"
    named = _NAMED_INPUT.search(error.message)
    if named and int(named.group(1)) < len(batch):
        place = request.place(batch.start + int(named.group(1)))
        return f"{place} is longer than the model takes ({said})"
    sizes = {index: estimated_tokens(request.texts[index]) for index in batch}
    limit = token_limit(error.message)
    candidates = sorted(index for index, size in sizes.items() if limit is None or size > limit)
    if limit is None or not candidates:
        longest = max(batch, key=lambda index: sizes[index])
        return (f"A text is longer than the model takes ({said}); the longest text of the "
                f"refused request is {request.place(longest)} ({sizes[longest]} bytes)")
    if len(candidates) == 1:
        return f"{request.place(candidates[0])} is longer than the model takes ({said})"
    shown = ", ".join(request.place(index) for index in candidates[:SHOWN_CANDIDATES])
    more = len(candidates) - SHOWN_CANDIDATES
    if more > 0:
        shown += f" (and {more} more)"
    return (f"A text is longer than the model takes ({said}); the texts that can be over "
            f"{limit} tokens (more than {limit} bytes): {shown}")
