"""Streamed chat completions through the async client, served from the `responses`
registry (tests/support/requests_transport.py): SSE decoding, chunk assembly, errors and
the idle timeout."""

from __future__ import annotations

import io
import json

import pytest
import responses

from lib.errors import UserError
from lib.openai.async_client import AsyncOpenAIClient
from lib.openai.chat import ChatCompletionAssembler
from lib.openai.errors import APITimeoutError, StreamError
from lib.openai.retry import RetryPolicy
from lib.openai.sse import EventReader, ServerSentEvent
from tests.support.async_calls import complete, registry_client
from tests.support.openapi_contract import validate

API_KEY = "sk-test-stream-0123456789SECRET"
BASE_URL = "http://127.0.0.1:8080/v1"
URL = f"{BASE_URL}/chat/completions"
BODY = {
    "model": "gpt-4o-mini",
    "messages": [{"role": "user", "content": "What's the weather in Paris and Rome?"}],
    "stream": True,
    "stream_options": {"include_usage": True},
    "tools": [{"type": "function", "function": {
        "name": "get_weather", "parameters": {"type": "object", "properties": {
            "city": {"type": "string"}}, "required": ["city"]}}}],
}
USAGE = {"prompt_tokens": 20, "completion_tokens": 12, "total_tokens": 32,
         "completion_tokens_details": {"reasoning_tokens": 0}}


def chunk(delta: dict | None = None, finish: str | None = None, *, index: int = 0,
          logprobs: dict | None = None, usage: dict | None = None,
          no_choices: bool = False) -> dict:
    """One `chat.completion.chunk`, checked against the official document."""
    value = {
        "id": "chatcmpl-s1", "object": "chat.completion.chunk", "created": 1741570000,
        "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_44709d6fcb",
        "service_tier": "default",
        "choices": [] if no_choices else [
            {"index": index, "delta": delta or {}, "logprobs": logprobs,
             "finish_reason": finish}],
        "usage": usage,
    }
    validate("CreateChatCompletionStreamResponse", value)
    return value


def sse(*chunks: dict, done: bool = True) -> bytes:
    text = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks)
    return (text + ("data: [DONE]\n\n" if done else "")).encode()


def make_client(monotonic: object = None) -> AsyncOpenAIClient:
    policy = RetryPolicy(sleep=lambda _s: None, random=lambda: 0.0)
    kwargs = {"monotonic": monotonic} if monotonic else {}
    return registry_client(API_KEY, BASE_URL, retry_policy=policy, **kwargs)


def stream_answer(body: bytes | io.BufferedReader, **headers: str) -> None:
    responses.post(URL, body=body, content_type="text/event-stream",
                   headers={"x-request-id": "req_s", **headers})


def test_the_request_body_matches_the_official_document() -> None:
    validate("CreateChatCompletionRequest", BODY)


@responses.activate
def test_content_and_usage_are_assembled() -> None:
    stream_answer(sse(
        chunk({"role": "assistant", "content": "", "refusal": None}),
        chunk({"content": "Hello"}),
        chunk({"content": ", wörld"}),
        chunk({}, "stop"),
        chunk(no_choices=True, usage=USAGE),
    ))
    result = complete(make_client(), BODY)
    validate("CreateChatCompletionResponse", result)
    assert result == {
        "id": "chatcmpl-s1", "object": "chat.completion", "created": 1741570000,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "logprobs": None, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": "Hello, wörld",
                                 "refusal": None}}],
        "system_fingerprint": "fp_44709d6fcb", "service_tier": "default", "usage": USAGE,
    }
    sent = json.loads(responses.calls[0].request.body)
    assert sent["stream"] is True
    validate("CreateChatCompletionRequest", sent)


@responses.activate
def test_tool_call_fragments_are_joined_by_index() -> None:
    stream_answer(sse(
        chunk({"role": "assistant", "content": None, "tool_calls": [
            {"index": 0, "id": "call_a", "type": "function",
             "function": {"name": "get_weather", "arguments": ""}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"ci'}}]}),
        chunk({"tool_calls": [{"index": 1, "id": "call_b", "type": "function",
                               "function": {"name": "get_weather", "arguments": '{"city"'}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'ty": "Paris"}'}}]}),
        chunk({"tool_calls": [{"index": 1, "function": {"arguments": ': "Rome"}'}}]}),
        chunk({}, "tool_calls"),
    ))
    result = complete(make_client(), BODY)
    validate("CreateChatCompletionResponse", result)
    message = result["choices"][0]["message"]
    assert message["content"] is None
    assert message["tool_calls"] == [
        {"id": "call_a", "type": "function",
         "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
        {"id": "call_b", "type": "function",
         "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'}},
    ]
    assert result["choices"][0]["finish_reason"] == "tool_calls"
    assert "usage" not in result


@responses.activate
def test_a_streamed_refusal_is_assembled_into_one_text() -> None:
    stream_answer(sse(
        chunk({"role": "assistant", "refusal": ""}),
        chunk({"refusal": "I'm sorry, "}),
        chunk({"refusal": "I can't help with that."}),
        chunk({}, "stop"),
    ))
    result = complete(make_client(), BODY)
    validate("CreateChatCompletionResponse", result)
    assert result["choices"][0]["message"]["refusal"] == "I'm sorry, I can't help with that."
    assert result["choices"][0]["message"]["content"] is None


def token(text: str, logprob: float) -> dict:
    return {"token": text, "logprob": logprob, "bytes": list(text.encode()),
            "top_logprobs": [{"token": text, "logprob": logprob, "bytes": list(text.encode())}]}


@responses.activate
def test_logprobs_and_several_choices_are_assembled() -> None:
    stream_answer(sse(
        chunk({"role": "assistant", "content": "Yes"}, index=0,
              logprobs={"content": [token("Yes", -0.1)], "refusal": None}),
        chunk({"role": "assistant", "content": "No"}, index=1,
              logprobs={"content": [token("No", -0.7)], "refusal": None}),
        chunk({"content": "!"}, index=0,
              logprobs={"content": [token("!", -0.2)], "refusal": None}),
        chunk({}, "stop", index=1),
        chunk({}, "length", index=0),
    ))
    result = complete(make_client(), BODY)
    validate("CreateChatCompletionResponse", result)
    first, second = result["choices"]
    assert (first["index"], first["message"]["content"], first["finish_reason"]) == (
        0, "Yes!", "length")
    assert [t["token"] for t in first["logprobs"]["content"]] == ["Yes", "!"]
    assert first["logprobs"]["refusal"] is None
    assert (second["message"]["content"], second["finish_reason"]) == ("No", "stop")


@responses.activate
def test_an_error_event_inside_the_stream_raises() -> None:
    error = {"error": {"message": "The server had an error while processing your request.",
                       "type": "server_error", "param": None, "code": None}}
    validate("ErrorResponse", error)
    body = sse(chunk({"role": "assistant", "content": "Hel"}), done=False)
    stream_answer(body + f"data: {json.dumps(error)}\n\n".encode())
    with pytest.raises(StreamError, match="server had an error") as caught:
        complete(make_client(), BODY)
    assert caught.value.request_id == "req_s"
    assert caught.value.type == "server_error"
    assert not isinstance(caught.value, UserError)


@responses.activate
def test_a_named_error_event_raises() -> None:
    body = sse(chunk({"content": "x"}), done=False)
    stream_answer(body + b'event: error\ndata: {"message": "overloaded", "code": "busy"}\n\n')
    with pytest.raises(StreamError, match="overloaded") as caught:
        complete(make_client(), BODY)
    assert caught.value.code == "busy"


@responses.activate
def test_data_that_is_not_json_raises() -> None:
    stream_answer(b"data: {not json\n\n")
    with pytest.raises(StreamError, match="not JSON"):
        complete(make_client(), BODY)


@responses.activate
def test_a_stream_cut_short_raises() -> None:
    stream_answer(sse(chunk({"role": "assistant", "content": "Hel"}), done=False))
    with pytest.raises(StreamError, match="ended before the completion was finished"):
        complete(make_client(), BODY)


@responses.activate
def test_a_finished_stream_without_done_is_accepted() -> None:
    stream_answer(sse(chunk({"content": "Hi"}), chunk({}, "stop"), done=False))
    assert complete(make_client(), BODY)["choices"][0]["message"]["content"] == "Hi"


class FakeClock:
    """A monotonic clock that moves `step` seconds per reading."""

    def __init__(self, step: float) -> None:
        self.now = 0.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


class Pieces(io.RawIOBase):
    """A socket-like body that gives its pieces one read at a time (time passes between
    reads: the clock is read once per piece)."""

    def __init__(self, *pieces: bytes) -> None:
        self.pieces = list(pieces)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:
        if not self.pieces:
            return 0
        piece = self.pieces.pop(0)
        assert len(piece) <= len(buffer)
        buffer[:len(piece)] = piece
        return len(piece)


@responses.activate
def test_keep_alives_alone_hit_the_idle_timeout() -> None:
    body = sse(chunk({"role": "assistant", "content": "Hi"}), done=False)
    stream_answer(io.BufferedReader(Pieces(body, *[b": keep-alive\n\n"] * 5,
                                           sse(chunk({}, "stop")))))
    with pytest.raises(APITimeoutError, match="no data for more than 25 s"):
        complete(make_client(FakeClock(10.0)), BODY, timeout_s=25)


@responses.activate
def test_steady_chunks_never_hit_the_idle_timeout() -> None:
    chunks = [chunk({"content": str(n)}) for n in range(10)] + [chunk({}, "stop")]
    stream_answer(io.BufferedReader(Pieces(*[sse(one, done=False) for one in chunks],
                                           b"data: [DONE]\n\n")))
    result = complete(make_client(FakeClock(5.0)), BODY, timeout_s=25)
    assert result["choices"][0]["message"]["content"] == "0123456789"


def test_the_idle_timeout_is_read_once_per_piece() -> None:
    """Data events reset it; keep-alives do not; lines in one piece take no time."""
    clock = FakeClock(10.0)
    reader = EventReader(idle_timeout_s=25, monotonic=clock)  # reads 10
    assert reader.feed(b": ping\n\n" * 100 + b"data: 1\n\n") != []  # 20: data at 20
    assert reader.feed(b": ping\n\n") == []  # 30
    assert reader.feed(b": ping\n\n") == []  # 40
    with pytest.raises(APITimeoutError, match="no data for more than 25 s"):
        reader.feed(b"data: 2\n\n")  # 50: 30 s after the last data


class SilentAfter(io.RawIOBase):
    """A socket-like body: some bytes, then a read timeout."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:
        if not self.data:
            raise TimeoutError("timed out")
        size = min(len(buffer), len(self.data))
        buffer[:size], self.data = self.data[:size], self.data[size:]
        return size


@responses.activate
def test_a_silent_socket_is_an_idle_timeout() -> None:
    body = io.BufferedReader(SilentAfter(sse(chunk({"content": "Hi"}), done=False)))
    stream_answer(body)
    with pytest.raises(APITimeoutError, match="No data for more than 30 s") as caught:
        complete(make_client(), BODY, timeout_s=30)
    assert caught.value.request_id == "req_s"


@responses.activate
def test_an_error_status_before_the_stream_is_retried() -> None:
    responses.post(URL, status=503, json={"error": {
        "message": "Overloaded", "type": "server_error", "param": None, "code": None}})
    stream_answer(sse(chunk({"content": "ok"}), chunk({}, "stop")))
    assert complete(make_client(), BODY)["choices"][0]["message"]["content"] == "ok"


@responses.activate
def test_a_server_that_ignores_stream_answers_json() -> None:
    completion = {"id": "c", "object": "chat.completion", "created": 1, "model": "local",
                  "choices": [{"index": 0, "logprobs": None, "finish_reason": "stop",
                               "message": {"role": "assistant", "content": "plain",
                                           "refusal": None}}]}
    validate("CreateChatCompletionResponse", completion)
    responses.post(URL, json=completion)
    assert complete(make_client(), BODY) == completion


# ---- the pure parts ------------------------------------------------------------------


def test_the_reader_follows_the_sse_rules() -> None:
    reader = EventReader(idle_timeout_s=60, monotonic=lambda: 0.0)
    assert reader.feed(b": comment\nevent: update\ndata: line 1\ndata:line 2\nid: 7\n") == []
    assert reader.feed(b"\n") == [ServerSentEvent("update", "line 1\nline 2")]
    assert reader.feed(b"\n\nevent: x\n\n") == []  # blank lines, an event without data
    assert reader.feed(b"data: tail") == []
    assert reader.end() == [ServerSentEvent(None, "tail")]


def test_unknown_string_deltas_are_concatenated() -> None:
    assembler = ChatCompletionAssembler()
    for delta in ({"reasoning_content": "Think"}, {"reasoning_content": "ing."},
                  {"content": "Done"}):
        assembler.add({"id": "x", "choices": [{"index": 0, "delta": delta}]})
    message = assembler.result()["choices"][0]["message"]
    assert message["reasoning_content"] == "Thinking."
    assert message["content"] == "Done"
