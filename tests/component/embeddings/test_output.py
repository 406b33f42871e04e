"""Create Embeddings' output: answers checked, merged in input order, usage summed."""

from __future__ import annotations

import base64
import dataclasses
import re
import struct

import pytest

from lib.embeddings import output
from lib.embeddings.errors import EmbeddingsTooLargeError
from lib.embeddings.output import MergedEmbeddings, embeddings_in_order, summed_usage, values_in
from lib.embeddings.request import MAX_EMBEDDING_VALUES, build_embeddings_request
from lib.openai.errors import OpenAIError


def answer(*vectors, start: int = 0, usage: dict | None = None, **extra) -> dict:
    data = [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)]
    document = {"object": "list", "data": data, "model": "text-embedding-3-small", **extra}
    if usage is not None:
        document["usage"] = usage
    return document


def test_embeddings_sent_out_of_order_are_put_in_order_and_counted_over_the_input() -> None:
    data = [{"object": "embedding", "index": 1, "embedding": [1.0]},
            {"object": "embedding", "index": 0, "embedding": [0.0]}]
    ordered = embeddings_in_order({"data": data}, range(10, 12))
    assert ordered == [{"object": "embedding", "index": 10, "embedding": [0.0]},
                       {"object": "embedding", "index": 11, "embedding": [1.0]}]


def test_a_server_without_indexes_is_read_by_position() -> None:
    ordered = embeddings_in_order({"data": [{"embedding": [0.5]}, {"embedding": [0.7]}]},
                                  range(3, 5))
    assert [(item["index"], item["embedding"]) for item in ordered] == [(3, [0.5]), (4, [0.7])]


@pytest.mark.parametrize(("document", "problem"), [
    ({}, "has no 'data' list"),
    ({"data": [1, 2]}, "has no 'data' list"),
    ({"data": [{"index": 0, "embedding": []}]}, ("answered 1 embeddings for 2 texts "
                                                "(input[4] to input[5])")),
    ({"data": [{"index": 0, "embedding": []}, {"index": 0, "embedding": []}]},
     "do not have the indexes 0 to 1"),
    ({"data": [{"index": 0, "embedding": []}, {"index": 2, "embedding": []}]},
     "do not have the indexes 0 to 1"),
    ({"data": [{"index": 0, "embedding": []}, {"index": True, "embedding": []}]},
     "do not have the indexes 0 to 1"),
])
def test_an_answer_that_does_not_match_the_texts_is_the_servers_error(document, problem):
    with pytest.raises(OpenAIError, match=re.escape(problem)):
        embeddings_in_order(document, range(4, 6))


def test_numbers_are_counted_in_every_form_a_server_sends() -> None:
    packed = base64.b64encode(struct.pack("<3f", 0.1, 0.2, 0.3)).decode()
    assert values_in(packed) == 3
    assert values_in([0.1, 0.2]) == 2
    assert values_in([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]]) == 6  # per token, no pooling
    assert values_in(None) == 0


def test_one_answer_is_emitted_whole() -> None:
    request = build_embeddings_request({"input": ["a", "b"]}, "m")
    merged = MergedEmbeddings(request)
    first = answer([0.1], [0.2], usage={"prompt_tokens": 2, "total_tokens": 2}, extra="kept")
    merged.add(first, request.batches[0])
    assert merged.result() == first


def test_split_answers_are_merged_in_order_with_the_usage_summed() -> None:
    texts = [f"t{i}" for i in range(5)]
    request = build_embeddings_request({"input": texts, "dimensions": 1}, "m")
    request = dataclasses.replace(request, batches=(range(2), range(2, 4), range(4, 5)))
    merged = MergedEmbeddings(request)
    merged.add(answer([0.0], [1.0], usage={"prompt_tokens": 2, "total_tokens": 2}),
               range(2))
    merged.add(answer([2.0], [3.0], usage={"prompt_tokens": 3, "total_tokens": 3}),
               range(2, 4))
    merged.add(answer([4.0], usage={"prompt_tokens": 1, "total_tokens": 1}), range(4, 5))
    result = merged.result()
    assert [item["index"] for item in result["data"]] == [0, 1, 2, 3, 4]
    assert [item["embedding"] for item in result["data"]] == [[0.0], [1.0], [2.0], [3.0], [4.0]]
    assert result["usage"] == {"prompt_tokens": 6, "total_tokens": 6}
    assert result["object"] == "list"
    assert result["model"] == "text-embedding-3-small"


def test_usage_sums_every_count_and_keeps_what_is_not_one() -> None:
    assert summed_usage([None, "x"]) is None
    assert summed_usage([{"prompt_tokens": 2, "note": "a"}, None,
                         {"prompt_tokens": 3, "total_tokens": 3, "note": "b"}]) == {
        "prompt_tokens": 5, "note": "a", "total_tokens": 3}


def test_the_numbers_of_all_embeddings_are_bounded_before_the_next_request(monkeypatch):
    """After the first answer tells the size, the rest is predicted: a message whose
    embeddings would be too many numbers stops before its second request."""
    monkeypatch.setattr(output, "MAX_EMBEDDING_VALUES", 30)
    request = build_embeddings_request({"input": ["a"] * 3}, "m")
    request = dataclasses.replace(request, batches=(range(1), range(1, 2), range(2, 3)))
    merged = MergedEmbeddings(request)
    with pytest.raises(EmbeddingsTooLargeError, match=r"^3 embeddings of 11 numbers are more "
                       rf"than the {MAX_EMBEDDING_VALUES} numbers one message may carry"):
        merged.add(answer([0.0] * 11), range(1))
    fitting = MergedEmbeddings(request)
    for batch in request.batches:
        fitting.add(answer([0.0] * 10), batch)
    assert len(fitting.result()["data"]) == 3
