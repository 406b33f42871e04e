"""Create Embeddings' request: texts checked, split into requests the API takes, bounded."""

from __future__ import annotations

import pytest

from lib.embeddings.errors import EmbeddingsTooLargeError
from lib.embeddings.request import (
    FLOAT_VALUES_PER_ANSWER,
    LARGEST_DIMENSIONS,
    MAX_EMBEDDING_VALUES,
    MAX_INPUTS_PER_REQUEST,
    MAX_REQUESTS_PER_MESSAGE,
    MAX_TOKENS_PER_REQUEST,
    build_embeddings_request,
    estimated_tokens,
    inputs_per_request,
    plan_batches,
)

MODEL = "text-embedding-3-small"


def test_one_text_is_sent_as_one_string_with_the_steps_model() -> None:
    request = build_embeddings_request({"input": "hello", "model": "other"}, MODEL)
    assert request.batches == (range(1),)
    assert request.body(request.batches[0]) == {"model": MODEL, "input": "hello"}
    assert request.place(0) == "input"


def test_a_short_list_is_one_request_with_every_field_passed_on() -> None:
    body = {"input": ["a", "b", "c"], "dimensions": 256, "encoding_format": "base64",
            "user": "u-1", "extra": True}
    request = build_embeddings_request(body, MODEL)
    [batch] = request.batches
    assert request.body(batch) == {"model": MODEL, "input": ["a", "b", "c"], "dimensions": 256,
                                   "encoding_format": "base64", "user": "u-1", "extra": True}
    assert request.place(2) == "input[2]"


def test_the_token_estimate_is_the_utf8_byte_count() -> None:
    assert estimated_tokens("abc") == 3
    assert estimated_tokens("äöü") == 6
    assert estimated_tokens("日本") == 6
    assert estimated_tokens("🙂") == 4


def test_batches_hold_at_most_the_count_and_the_tokens_and_keep_the_order() -> None:
    assert plan_batches([1] * 5, 2, 100) == (range(2), range(2, 4), range(4, 5))
    assert plan_batches([40, 40, 40, 10], 10, 100) == (range(2), range(2, 4))
    assert plan_batches([], 10, 100) == ()


def test_a_text_over_the_request_budget_goes_alone_and_the_api_judges_it() -> None:
    assert plan_batches([10, 500, 10], 10, 100) == (range(1), range(1, 2), range(2, 3))
    assert plan_batches([500], 10, 100) == (range(1),)


def test_a_list_longer_than_one_request_is_split_into_consecutive_batches() -> None:
    texts = [f"text {i}" for i in range(2 * MAX_INPUTS_PER_REQUEST + 1)]
    request = build_embeddings_request({"input": texts, "encoding_format": "base64"}, MODEL)
    assert request.batches == (range(2048), range(2048, 4096), range(4096, 4097))
    assert request.body(request.batches[2])["input"] == [texts[-1]]


def test_a_list_of_many_tokens_is_split_by_the_request_token_budget() -> None:
    text = "x" * 100_000  # 100,000 bytes: at most 100,000 tokens
    request = build_embeddings_request({"input": [text] * 7, "encoding_format": "base64"}, MODEL)
    assert [len(batch) for batch in request.batches] == [3, 3, 1]
    for batch in request.batches:
        assert sum(estimated_tokens(request.texts[i]) for i in batch) <= MAX_TOKENS_PER_REQUEST


def test_float_answers_carry_fewer_texts_so_that_an_answer_stays_readable() -> None:
    assert inputs_per_request({"encoding_format": "base64"}) == MAX_INPUTS_PER_REQUEST
    assert inputs_per_request({}) == FLOAT_VALUES_PER_ANSWER // LARGEST_DIMENSIONS == 512
    assert inputs_per_request({"encoding_format": "float", "dimensions": 256}) == 2048
    assert inputs_per_request({"dimensions": 1536}) == 1365
    assert inputs_per_request({"dimensions": 10**9}) == 1


def test_too_many_requests_are_refused_before_anything_is_sent() -> None:
    count = MAX_REQUESTS_PER_MESSAGE * 512 + 1
    with pytest.raises(EmbeddingsTooLargeError) as caught:
        build_embeddings_request({"input": ["a"] * count}, MODEL)
    assert str(caught.value) == (
        f"The {count} texts need {MAX_REQUESTS_PER_MESSAGE + 1} requests (each at most 512 "
        "texts and 300000 tokens, counting one token per byte); one message may make at "
        f"most {MAX_REQUESTS_PER_MESSAGE}: split the list into several messages")
    build_embeddings_request({"input": ["a"] * (count - 1)}, MODEL)


def test_too_many_numbers_are_refused_before_anything_is_sent_when_dimensions_tell() -> None:
    count = MAX_EMBEDDING_VALUES // 1024 + 1
    with pytest.raises(EmbeddingsTooLargeError, match=rf"^{count} embeddings of 1024 numbers "
                       rf"are more than the {MAX_EMBEDDING_VALUES} numbers"):
        build_embeddings_request({"input": ["a"] * count, "dimensions": 1024}, MODEL)
    build_embeddings_request({"input": ["a"] * (count - 1), "dimensions": 1024}, MODEL)

