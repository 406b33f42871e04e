"""Create Embeddings: the texts of a request, checked, and split into the requests the
API takes.

OpenAI's embedding models take at most :data:`MAX_INPUTS_PER_REQUEST` texts and
:data:`MAX_TOKENS_PER_REQUEST` tokens (summed over the texts) per request. A longer list
is sent in several requests, each of consecutive texts, so that the answers can be merged
back in order (``lib.embeddings.output``).

Tokens are estimated without a tokenizer, from the UTF-8 bytes of a text: the embedding
models' tokenizers are byte-level BPE (every token stands for at least one byte), so a
text never has more tokens than bytes. The estimate is an upper bound: a request planned
within it is never too large for the API; the price is that a list is split more often
than needed (English text averages about four bytes per token). For the same reason the
bytes cannot show that a text is *over* the per-text limit, only that it is within it:
a text over the limit is found by the API, and named by ``lib.embeddings.run``.

Bounds on one message: at most :data:`MAX_REQUESTS_PER_MESSAGE` requests, checked before
the first is sent; and at most :data:`MAX_EMBEDDING_VALUES` numbers in all the embeddings
together, checked before sending when `dimensions` tells the size, else as the answers
come (``lib.embeddings.output``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lib.embeddings.errors import EmbeddingsTooLargeError

MAX_INPUTS_PER_REQUEST = 2048
MAX_TOKENS_PER_REQUEST = 300_000
MAX_REQUESTS_PER_MESSAGE = 32
# All embeddings of one message together: ~130 MB as Python floats, ~50 MB as JSON. One
# full request of text-embedding-3-small (2,048 x 1,536 numbers) fits.
MAX_EMBEDDING_VALUES = 4 * 1024 * 1024
# A float answer is JSON of 20-24 bytes per number (OpenAI writes one number per line);
# the embeddings call reads at most 64 MiB of one answer (lib.openai.embeddings). So a
# request asks for at most this many numbers in float format, assuming LARGEST_DIMENSIONS
# when `dimensions` is not given.
FLOAT_VALUES_PER_ANSWER = 2 * 1024 * 1024
LARGEST_DIMENSIONS = 4096
BASE64 = "base64"


@dataclass(frozen=True)
class EmbeddingsRequest:
    """What to send: the texts, the other fields, and the requests they are split into."""

    texts: tuple[str, ...]
    fields: dict[str, Any]  # the request without `input`, model included
    batches: tuple[range, ...]  # consecutive, together covering every text once
    single: bool  # the input was one string (sent as a string, named `input`)

    def body(self, batch: range) -> dict[str, Any]:
        """The request body of one batch."""
        texts = self.texts[batch.start:batch.stop]
        return {**self.fields, "input": texts[0] if self.single else list(texts)}

    def place(self, index: int) -> str:
        """How a text is named in messages: ``input[3]`` (``input`` for one string)."""
        return "input" if self.single else f"input[{index}]"


def estimated_tokens(text: str) -> int:
    """An upper bound on the tokens of `text` (see the module docstring): its UTF-8 bytes."""
    return len(text.encode("utf-8"))


def texts_of(body: dict[str, Any]) -> tuple[list[str], bool]:
    """The texts of a body checked by the input schema (no text is empty), and whether
    `input` was one string."""
    value = body["input"]
    single = isinstance(value, str)
    return ([value] if single else list(value)), single


def inputs_per_request(fields: dict[str, Any]) -> int:
    """How many texts one request may carry: the API's limit, lower for float answers so
    that an answer stays within the client's cap (see FLOAT_VALUES_PER_ANSWER)."""
    if fields.get("encoding_format") == BASE64:
        return MAX_INPUTS_PER_REQUEST
    dimensions = fields.get("dimensions")
    size = dimensions if isinstance(dimensions, int) and dimensions > 0 else LARGEST_DIMENSIONS
    return max(1, min(MAX_INPUTS_PER_REQUEST, FLOAT_VALUES_PER_ANSWER // size))


def plan_batches(sizes: Sequence[int], max_inputs: int, max_tokens: int) -> tuple[range, ...]:
    """Consecutive batches of at most `max_inputs` texts and `max_tokens` estimated tokens
    (`sizes`, per text). A text over `max_tokens` alone goes in a batch of its own: the
    API judges it. One pass, greedy: the fewest batches of consecutive texts."""
    batches: list[range] = []
    start, tokens = 0, 0
    for index, size in enumerate(sizes):
        if index > start and (index - start >= max_inputs or tokens + size > max_tokens):
            batches.append(range(start, index))
            start, tokens = index, 0
        tokens += size
    if sizes:
        batches.append(range(start, len(sizes)))
    return tuple(batches)


def check_bounds(count: int, batches: Sequence[range], fields: dict[str, Any]) -> None:
    """Refuse, before anything is sent, a message that needs too many requests or (when
    `dimensions` tells the size) too many numbers."""
    if len(batches) > MAX_REQUESTS_PER_MESSAGE:
        raise EmbeddingsTooLargeError(
            f"The {count} texts need {len(batches)} requests (each at most "
            f"{inputs_per_request(fields)} texts and {MAX_TOKENS_PER_REQUEST} tokens, "
            f"counting one token per byte); one message may make at most "
            f"{MAX_REQUESTS_PER_MESSAGE}: split the list into several messages")
    dimensions = fields.get("dimensions")
    if isinstance(dimensions, int) and count * dimensions > MAX_EMBEDDING_VALUES:
        raise EmbeddingsTooLargeError(too_many_values_text(count, dimensions))


def too_many_values_text(count: int, dimensions: int) -> str:
    """Why `count` embeddings of `dimensions` numbers are refused, and what to do."""
    return (f"{count} embeddings of {dimensions} numbers are more than the "
            f"{MAX_EMBEDDING_VALUES} numbers one message may carry: set a smaller "
            "dimensions (text-embedding-3 models), or split the list into several messages")


def build_embeddings_request(body: dict[str, Any], model: str) -> EmbeddingsRequest:
    """The request for a (schema-checked) body and the step's model, split and bounded."""
    texts, single = texts_of(body)
    fields = {key: value for key, value in body.items() if key not in ("input", "model")}
    fields = {"model": model, **fields}
    batches = plan_batches([estimated_tokens(text) for text in texts],
                           inputs_per_request(fields), MAX_TOKENS_PER_REQUEST)
    check_bounds(len(texts), batches, fields)
    return EmbeddingsRequest(tuple(texts), fields, batches, single)
