"""Create Embeddings sent: one request per batch, in order; refusals named by the text.

The client is replaced by one that answers as the stand-in's route does (the API's limits,
the official document's request schema), so that requests can be counted without HTTP.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from lib.embeddings.errors import InputTooLongError
from lib.embeddings.request import build_embeddings_request
from lib.embeddings.run import is_too_long_refusal, send_embeddings, token_limit
from lib.openai.errors import NotFoundError, OpenAIError, error_from_response
from tests.support.action_support import RecordingLogger
from tests.support.openai_embeddings_routes import MAX_INPUT_TOKENS, embeddings_answer
from tests.support.openapi_contract import validate

MODEL = "text-embedding-3-small"


class StandInClient:
    """`request_json` answered by the stand-in's route, every request recorded."""

    def __init__(self, answer: Any = embeddings_answer) -> None:
        self.answer = answer
        self.bodies: list[dict[str, Any]] = []

    def request_json(self, method: str, path: str, body: dict[str, Any], **_: Any) -> dict:
        assert (method, path) == ("POST", "/embeddings")
        validate("CreateEmbeddingRequest", body)
        self.bodies.append(body)
        status, document = self.answer(body)
        if status != 200:
            raise error_from_response(status, json.dumps(document).encode(), {})
        return document


def send(body: dict[str, Any], client: StandInClient | None = None) -> dict[str, Any]:
    client = client or StandInClient()
    request = build_embeddings_request(body, MODEL)
    return send_embeddings(client, request, timeout_s=5, logger=RecordingLogger())  # type: ignore[arg-type]


def test_one_text_is_one_request_and_the_answer_whole() -> None:
    client = StandInClient()
    result = send({"input": "hello"}, client)
    assert client.bodies == [{"model": MODEL, "input": "hello"}]
    assert result == embeddings_answer(client.bodies[0])[1]


def test_a_list_over_2048_texts_is_sent_in_three_requests_merged_in_order() -> None:
    texts = [f"text number {i}" for i in range(4100)]
    client = StandInClient()
    result = send({"input": texts, "encoding_format": "base64"}, client)
    assert [len(body["input"]) for body in client.bodies] == [2048, 2048, 4]
    assert [item["index"] for item in result["data"]] == list(range(4100))
    expected = [embeddings_answer({"model": MODEL, "input": [text],
                                   "encoding_format": "base64"})[1]["data"][0]["embedding"]
                for text in texts[::1000]]
    assert [item["embedding"] for item in result["data"][::1000]] == expected
    assert result["usage"]["prompt_tokens"] == sum(
        embeddings_answer(body)[1]["usage"]["prompt_tokens"] for body in client.bodies)


def test_a_list_over_the_token_budget_is_split_so_that_no_request_is_refused() -> None:
    """Texts of 200,000 bytes: the API would count ~50,000 tokens each, 6 of them 300,000;
    counted as bytes, a request holds one."""
    texts = [("word " * 40_000)[:200_000]] * 3
    client = StandInClient(lambda body: (200, {"data": [
        {"index": i, "embedding": [0.0]} for i in range(len(body["input"]))]}))
    result = send({"input": texts}, client)
    assert [len(body["input"]) for body in client.bodies] == [1, 1, 1]
    assert len(result["data"]) == 3


def test_a_text_over_the_models_limit_is_named_by_its_index() -> None:
    texts = ["short"] * 10
    texts[7] = "y" * (4 * MAX_INPUT_TOKENS + 8)
    client = StandInClient()
    with pytest.raises(InputTooLongError) as caught:
        send({"input": texts}, client)
    assert str(caught.value).startswith(
        "input[7] is longer than the model takes (the server: This model's maximum context "
        "length is 8192 tokens")
    assert caught.value.status == 400
    assert len(client.bodies) == 1


def test_the_refused_requests_texts_that_can_be_too_long_are_named_by_their_indexes() -> None:
    long_text = "z " * 5000  # 10,000 bytes: can be over 8,192 tokens
    texts = ["a", long_text, "b", long_text, long_text]
    client = StandInClient(lambda _body: (400, {"error": {
        "message": "Invalid 'input': maximum context length is 8192 tokens.",
        "type": "invalid_request_error", "param": None, "code": None}}))
    with pytest.raises(InputTooLongError, match=r"the texts that can be over 8192 tokens "
                       r"\(more than 8192 bytes\): input\[1\], input\[3\], input\[4\] "
                       r"\(status 400"):
        send({"input": texts}, client)


def test_in_a_later_request_the_index_is_counted_over_the_whole_input() -> None:
    texts = [f"t{i}" for i in range(600)]
    texts[555] = "q" * (4 * MAX_INPUT_TOKENS + 8)
    client = StandInClient()
    with pytest.raises(InputTooLongError, match=r"^input\[555\] is longer"):
        send({"input": texts}, client)
    assert [len(body["input"]) for body in client.bodies] == [512, 88]


def test_a_refusal_that_names_the_text_is_taken_at_its_word() -> None:
    client = StandInClient(lambda _body: (400, {"error": {
        "message": "Invalid 'input[1]': string too long, too many tokens",
        "type": "invalid_request_error", "param": "input", "code": None}}))
    with pytest.raises(InputTooLongError, match=r"^input\[1\] is longer"):
        send({"input": ["a", "b", "c"]}, client)


def test_a_refusal_without_a_limit_names_the_longest_text() -> None:
    """llama.cpp's wording through Ollama has no number."""
    client = StandInClient(lambda _body: (400, {
        "error": "input length exceeds maximum context length"}))
    with pytest.raises(InputTooLongError, match=r"the longest text of the refused request is "
                       r"input\[1\] \(9 bytes\) \(status 400"):
        send({"input": ["a", "123456789", "abc"]}, client)


@pytest.mark.parametrize(("status", "message", "too_long"), [
    (400, ("This model's maximum context length is 8192 tokens, however you requested 8610 "
          "tokens (8610 in your prompt; 0 for the completion)."), True),
    (400, "Invalid 'input': maximum context length is 8192 tokens.", True),
    (500, "Requested tokens (3000) exceed context window of 2048", True),
    (400, ("This model's maximum context length is 512 tokens. However, you requested 1451 "
          "tokens in the input for embedding generation."), True),
    (400, "input length exceeds maximum context length", True),
    (400, "'$.input' is invalid.", False),
    (429, "Rate limit reached for tokens per min (TPM): Limit 1000000", False),
    (400, "dimensions must be at most 1536", False),
])
def test_which_refusals_are_about_a_text_being_too_long(status, message, too_long):
    error = OpenAIError(message, status=status)
    assert is_too_long_refusal(error) is too_long


@pytest.mark.parametrize(("message", "limit"), [
    ("maximum context length is 8,192 tokens", 8192),
    ("Requested tokens (3000) exceed context window of 2048", 2048),
    ("input length exceeds maximum context length", None),
])
def test_the_limit_is_read_from_the_refusal(message, limit):
    assert token_limit(message) == limit


def test_a_server_without_the_endpoint_is_told_by_the_endpoints_name() -> None:
    def not_found(_body: dict) -> tuple[int, dict]:
        return 404, {"detail": "Not Found"}

    with pytest.raises(NotFoundError) as caught:
        send({"input": "a"}, StandInClient(not_found))
    assert str(caught.value).startswith(
        "The server has no POST /embeddings endpoint (Not Found): this server does not offer "
        "this API")
    assert caught.value.status == 404


def test_an_unknown_model_is_not_taken_for_a_missing_endpoint() -> None:
    def unknown_model(_body: dict) -> tuple[int, dict]:
        return 404, {"error": {"message": "The model `x` does not exist", "type":
                               "invalid_request_error", "param": None,
                               "code": "model_not_found"}}

    with pytest.raises(NotFoundError, match=r"^The model `x` does not exist"):
        send({"input": "a"}, StandInClient(unknown_model))


def test_the_log_says_how_many_requests_a_split_list_took() -> None:
    logger = RecordingLogger()
    request = build_embeddings_request({"input": ["a"] * 513}, MODEL)
    send_embeddings(StandInClient(), request, timeout_s=5, logger=logger)  # type: ignore[arg-type]
    assert logger.lines == [("info", "The 513 texts are sent in 2 requests")]
