"""Create Embeddings end to end: `process` called as a plain function, the API faked over
HTTP by the stand-in's route (the API's limits and answers), every request counted."""

from __future__ import annotations

import json
import threading

import pytest
import responses
from elasticio_sailor import ShutdownInterrupted
from jsonschema import Draft202012Validator

from lib.actions import create_embeddings
from lib.embeddings.errors import EmbeddingsTooLargeError, InputTooLongError
from lib.embeddings.request import MAX_REQUESTS_PER_MESSAGE
from lib.errors import InputValidationError
from lib.openai.errors import NotFoundError
from lib.validation import load_schema, to_json_schema
from tests.support.action_support import API_KEY, BASE_URL, FakeSelf, api_error, cfg
from tests.support.openai_embeddings_routes import MAX_INPUT_TOKENS, embeddings_answer
from tests.support.openapi_contract import validate

pytestmark = pytest.mark.usefixtures("fresh_clients")

EMBEDDINGS_URL = f"{BASE_URL}/embeddings"
MODEL = "text-embedding-3-small"
OUT = Draft202012Validator(to_json_schema(load_schema("createEmbeddings.out.json")))


def stand_in(request: responses.PreparedRequest) -> tuple[int, dict, str]:
    """The stand-in's answer; the request checked against the official document."""
    body = json.loads(request.body)
    validate("CreateEmbeddingRequest", body)
    status, document = embeddings_answer(body)
    return status, {"x-request-id": "req_1"}, json.dumps(document)


def served(callback=stand_in, url: str = EMBEDDINGS_URL) -> None:
    responses.add_callback(responses.POST, url, callback=callback,
                           content_type="application/json")


def sent() -> list[dict]:
    return [json.loads(call.request.body) for call in responses.calls
            if call.request.url.endswith("/embeddings")]


def run(body: dict, me: FakeSelf | None = None, **config: object) -> tuple[FakeSelf, object]:
    me = me or FakeSelf()
    result = create_embeddings.process(me, {"id": "m1", "body": body},
                                       cfg(model=MODEL, **config), {})
    return me, result


@responses.activate
def test_one_text_gives_the_apis_answer_whole() -> None:
    served()
    _, result = run({"input": "An integration flow moves data."})
    assert sent() == [{"model": MODEL, "input": "An integration flow moves data."}]
    assert result == {"body": embeddings_answer(sent()[0])[1]}
    assert [e.message for e in OUT.iter_errors(result["body"])] == []


@responses.activate
def test_a_long_list_is_sent_in_requests_of_512_and_merged_in_order() -> None:
    served()
    texts = [f"document {i}" for i in range(1100)]
    me, result = run({"input": texts})
    assert [len(body["input"]) for body in sent()] == [512, 512, 76]
    answer = result["body"]
    assert [item["index"] for item in answer["data"]] == list(range(1100))
    single = embeddings_answer({"model": MODEL, "input": texts[777]})[1]["data"][0]
    assert answer["data"][777]["embedding"] == single["embedding"]
    assert answer["usage"]["total_tokens"] == sum(
        embeddings_answer(body)[1]["usage"]["total_tokens"] for body in sent())
    assert [e.message for e in OUT.iter_errors(answer)] == []
    assert ("info", "The 1100 texts are sent in 3 requests") in me.logger.lines


@responses.activate
def test_base64_and_dimensions_let_2048_texts_go_in_one_request() -> None:
    served()
    _, result = run({"input": ["x"] * 2048, "encoding_format": "base64", "dimensions": 64})
    assert len(sent()) == 1
    assert isinstance(result["body"]["data"][0]["embedding"], str)


@responses.activate
def test_a_message_needing_too_many_requests_fails_before_any_is_sent() -> None:
    served()
    texts = ["y"] * (MAX_REQUESTS_PER_MESSAGE * 512 + 1)
    with pytest.raises(EmbeddingsTooLargeError, match=r"need 33 requests"):
        run({"input": texts})
    assert len(responses.calls) == 0


@responses.activate
def test_a_text_over_the_models_limit_is_named_and_the_rest_is_not_sent() -> None:
    served()
    texts = ["fine"] * 600
    texts[42] = "z" * (4 * MAX_INPUT_TOKENS + 4)
    with pytest.raises(InputTooLongError) as caught:
        run({"input": texts})
    assert str(caught.value).startswith("input[42] is longer than the model takes")
    assert "request id req_1" in str(caught.value)
    assert len(sent()) == 1


@responses.activate
def test_an_invalid_body_fails_by_field_before_anything_is_sent() -> None:
    served()
    with pytest.raises(InputValidationError, match=r"input\[1\] must be a string"):
        run({"input": ["a", 3]})
    assert len(responses.calls) == 0


@responses.activate
def test_the_steps_model_is_sent_and_a_model_in_the_message_is_named_in_the_log() -> None:
    served()
    me, _ = run({"input": "a", "model": "text-embedding-ada-002"})
    assert sent()[0]["model"] == MODEL
    assert any("names model 'text-embedding-ada-002'" in line for _, line in me.logger.lines)


@responses.activate
def test_a_server_without_embeddings_is_named_in_the_error() -> None:
    local = "http://127.0.0.1:8099/v1"
    served(lambda _request: (404, {}, json.dumps({"detail": "Not Found"})),
           f"{local}/embeddings")
    with pytest.raises(NotFoundError) as caught:
        run({"input": "a"}, baseUrl=local, serverType="compatible")
    assert "POST /embeddings" in str(caught.value)
    assert API_KEY not in str(caught.value)


@responses.activate
def test_a_shutdown_between_two_requests_leaves_the_message_for_redelivery() -> None:
    me = FakeSelf()
    me.shutting_down = threading.Event()

    def answer_then_stop(request):
        me.shutting_down.set()
        return stand_in(request)

    served(answer_then_stop)
    with pytest.raises(ShutdownInterrupted):
        run({"input": ["a"] * 600}, me)
    assert len(sent()) == 1


@responses.activate
def test_a_long_retry_after_rebounds_the_message() -> None:
    responses.add(responses.POST, EMBEDDINGS_URL, status=429, headers={"retry-after": "3600"},
                  json=api_error("Rate limit reached", error_type="requests",
                                 code="rate_limit_exceeded"))
    me, result = run({"input": "a"})
    assert result is None
    assert [event for event, _ in me.emitted] == ["rebound"]
