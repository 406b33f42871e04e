"""Create Embeddings' output: the API's answer whole, or the answers of a split input
merged into one.

The merged answer is the first answer with `data` holding every embedding in the order
of the input (each `index` counted over the whole input) and `usage` summed. Each answer
is checked to hold one embedding per text it was sent (by `index`, or by position where
a compatible server sends none), and the numbers of all embeddings together are counted
against ``MAX_EMBEDDING_VALUES`` as the answers come.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lib.embeddings.errors import EmbeddingsTooLargeError
from lib.embeddings.request import (
    MAX_EMBEDDING_VALUES,
    EmbeddingsRequest,
    too_many_values_text,
)
from lib.openai.errors import OpenAIError

BASE64_BYTES_PER_VALUE = 4  # a little-endian 32-bit float


def embeddings_in_order(answer: dict[str, Any], batch: range) -> list[dict[str, Any]]:
    """The embeddings of one answer, one per text of `batch`, in its order, each `index`
    counted over the whole input. Anything else is the server's error."""
    data = answer.get("data")
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise OpenAIError("The embeddings answer has no 'data' list of objects; check the "
                          "base URL")
    if len(data) != len(batch):
        raise OpenAIError(f"The server answered {len(data)} embeddings for {len(batch)} "
                          f"texts (input[{batch.start}] to input[{batch.stop - 1}])")
    indexes = [item.get("index", position) for position, item in enumerate(data)]
    if sorted(i for i in indexes if type(i) is int) != list(range(len(batch))):
        raise OpenAIError("The server's embeddings do not have the indexes 0 to "
                          f"{len(batch) - 1}, one each, for the {len(batch)} texts it was sent")
    ordered = sorted(zip(indexes, data, strict=True), key=lambda pair: pair[0])
    return [{**item, "index": batch.start + index} for index, item in ordered]


def values_in(embedding: Any) -> int:
    """How many numbers an embedding holds: a list of numbers, a list of lists (per token,
    from servers without pooling), or a base64 string of 32-bit floats."""
    if isinstance(embedding, str):
        return len(embedding) * 3 // 4 // BASE64_BYTES_PER_VALUE
    if isinstance(embedding, list):
        return sum(len(row) if isinstance(row, list) else 1 for row in embedding)
    return 0


class MergedEmbeddings:
    """The answers of one request's batches, added one at a time, then merged."""

    def __init__(self, request: EmbeddingsRequest) -> None:
        self.request = request
        self.answers: list[dict[str, Any]] = []
        self.data: list[dict[str, Any]] = []
        self.values = 0

    def add(self, answer: dict[str, Any], batch: range) -> None:
        """Take the answer of `batch`; refuse to go on when the numbers of all embeddings
        would pass the bound (predicted from this answer's size, before the next request)."""
        embeddings = embeddings_in_order(answer, batch)
        values = sum(values_in(item.get("embedding")) for item in embeddings)
        self.answers.append(answer)
        self.data.extend(embeddings)
        self.values += values
        remaining = len(self.request.texts) - batch.stop
        per_text = -(-values // len(batch))  # rounded up
        if self.values + remaining * per_text > MAX_EMBEDDING_VALUES:
            raise EmbeddingsTooLargeError(
                too_many_values_text(len(self.request.texts), per_text))

    def result(self) -> dict[str, Any]:
        """The answer to emit: the first answer with every embedding in input order, and
        the usage of all answers summed."""
        merged = {**self.answers[0], "data": self.data}
        if len(self.answers) > 1:
            usage = summed_usage([answer.get("usage") for answer in self.answers])
            if usage is not None:
                merged["usage"] = usage
        return merged


def summed_usage(usages: Sequence[Any]) -> dict[str, Any] | None:
    """The token counts of several answers added up, field by field (None when no answer
    has any). A field that is not a count is taken from the first answer that has it."""
    counted = [usage for usage in usages if isinstance(usage, dict)]
    if not counted:
        return None
    total: dict[str, Any] = {}
    for usage in counted:
        for key, value in usage.items():
            if _is_count(value) and _is_count(total.get(key, 0)):
                total[key] = total.get(key, 0) + value
            else:
                total.setdefault(key, value)
    return total


def _is_count(value: Any) -> bool:
    return type(value) is int
