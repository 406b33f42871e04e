"""Memory per message is bounded by what an answer may hold once parsed, not by its bytes.

Before, only the bytes read were capped, while parsed answers were kept and deep-copied:
a Responses stream of 50 MiB made of many small output items took 2.5 GB, a 30 MiB
Response 1.76 GB, a 30 MiB chat completion 780 MB. Now an answer holds at most
MAX_ANSWER_BYTES (32 MiB) and MAX_ANSWER_VALUES (1,000,000 JSON values, counted in its
text before it is parsed); a stream's assembled answer is counted as it is built, with at
most MAX_OUTPUT_ITEMS items, and nothing is deep-copied. The peaks are measured with
tracemalloc around the action's whole `process` (and, for the largest answer that
passes, the sailor's encoding of the output message), with object-heavy JSON: the README
states the bound per message, times the prefetch.
"""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from elasticio_sailor.crypto import MessageCipher

from lib.actions import create_response, send_request
from lib.openai.budget import json_values
from lib.openai.errors import AnswerTooLargeError
from lib.openai.limits import MAX_ANSWER_BYTES, MAX_ANSWER_VALUES, MAX_OUTPUT_ITEMS, MIB
from tests.support.action_support import API_KEY, FakeSelf, run_process
from tests.support.hostile_server import HostileServer, stream_headers
from tests.support.netguard import NetGuard
from tests.support.openai_standin import response_object

MODEL = "gpt-5-mini"
# The most a message may take at its peak (measured below; the README says so).
PEAK_BOUND = 256 * MIB


@pytest.fixture(autouse=True)
def loopback(fresh_clients: None, fresh_jobs: None) -> Iterator[None]:
    del fresh_clients, fresh_jobs
    with NetGuard().installed() as guard:
        yield
    assert {host for host, _port in guard.connects} <= {"127.0.0.1"}


def sending(payload: bytes, content_type: str) -> Callable[[BaseHTTPRequestHandler], None]:
    """Answers with `payload` (built before the measure), sent in slices that copy
    nothing."""
    def behave(handler: BaseHTTPRequestHandler) -> None:
        if content_type == "text/event-stream":
            stream_headers(handler)
        else:
            handler.send_response(200)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
        view = memoryview(payload)
        try:
            for start in range(0, len(view), 1 << 20):
                handler.wfile.write(view[start:start + (1 << 20)])
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading at its cap
    return behave


def measured(action: Any, body: dict[str, Any], payload: bytes, content_type: str
             ) -> tuple[int, BaseException | None, Any]:
    """The peak of traced memory while `action` handles one message whose answer is
    `payload`, what it raised, and what it returned."""
    with HostileServer(sending(payload, content_type)) as server:
        config = {"apiKey": API_KEY, "baseUrl": server.url, "model": MODEL}
        tracemalloc.start()
        try:
            result = run_process(action.process, FakeSelf(), {"id": "m1", "body": body}, config, {})
            error = None
        except Exception as exc:
            result, error = None, exc
        finally:
            _now, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
    return peak, error, result


def sse(events: Iterator[dict[str, Any]], limit: int) -> bytes:
    out, size = [], 0
    for event in events:
        line = f"data: {json.dumps(event, separators=(',', ':'))}\n\n".encode()
        out.append(line)
        size += len(line)
        if size >= limit:
            break
    return b"".join(out)


def tiny_items() -> Iterator[dict[str, Any]]:
    queued = response_object(MODEL, None) | {"status": "in_progress", "output": []}
    yield {"type": "response.created", "response": queued}
    index = 0
    while True:
        yield {"type": "response.output_item.done", "output_index": index,
               "item": {"type": "message", "id": "m", "role": "assistant", "content": []}}
        index += 1


def object_heavy_items() -> Iterator[dict[str, Any]]:
    """Items of 64 KiB, each a list of 20,000 empty objects."""
    queued = response_object(MODEL, None) | {"status": "in_progress", "output": []}
    yield {"type": "response.created", "response": queued}
    index = 0
    while True:
        yield {"type": "response.output_item.done", "output_index": index,
               "item": {"type": "custom", "id": "x", "v": [{}] * 20_000}}
        index += 1


def test_a_stream_of_50_mib_of_tiny_output_items_is_refused_at_the_item_cap() -> None:
    payload = sse(tiny_items(), 50 * MIB)
    peak, error, _ = measured(create_response, {"input": "hi", "stream": True}, payload,
                              "text/event-stream")
    assert isinstance(error, AnswerTooLargeError)
    assert f"more than {MAX_OUTPUT_ITEMS} output items" in str(error)
    print(f"peak {peak / MIB:.0f} MiB for 50 MiB of tiny output items")
    assert peak < 64 * MIB, peak


def test_a_stream_of_50_mib_of_object_heavy_items_is_refused_at_the_value_cap() -> None:
    payload = sse(object_heavy_items(), 50 * MIB)
    peak, error, _ = measured(create_response, {"input": "hi", "stream": True}, payload,
                              "text/event-stream")
    assert isinstance(error, AnswerTooLargeError)
    assert f"more than {MAX_ANSWER_VALUES} JSON values" in str(error)
    print(f"peak {peak / MIB:.0f} MiB for 50 MiB of object-heavy output items")
    assert peak < PEAK_BOUND, peak


@pytest.mark.parametrize(("size", "refusal"), [(30 * MIB, "larger than"),
                                               (15 * MIB, "JSON values")],
                         ids=["30 MiB: while read", "15 MiB: before parsed"])
@pytest.mark.parametrize("action", [create_response, send_request],
                         ids=["createResponse", "sendRequest"])
def test_an_answer_of_tiny_objects_is_refused_before_it_is_parsed(
        action: Any, size: int, refusal: str) -> None:
    tiny = b"{}," * (size // 3)
    payload = b'{"id":"resp_1","object":"response","output":[' + tiny + b"{}]}"
    body = {"input": "hi"} if action is create_response else {
        "messages": [{"role": "user", "content": "hi"}]}
    peak, error, _ = measured(action, body, payload, "application/json")
    assert isinstance(error, AnswerTooLargeError)
    assert refusal in str(error)
    assert peak < 2 * MAX_ANSWER_BYTES + 16 * MIB, peak


ROWS = 470_000  # each `{},`: two JSON values


def json_text_near_the_caps() -> str:
    """JSON text of many small objects and a long string: with its wrapping, an answer
    just under both caps."""
    content = {"rows": [{}] * ROWS, "text": "x" * (MAX_ANSWER_BYTES - 3 * ROWS - 512 * 1024)}
    return json.dumps(content, separators=(",", ":"))


def largest_answer(action: Any) -> tuple[bytes, dict[str, Any]]:
    """A JSON-mode answer just under both caps whose text is read into `parsed` (so its
    objects are parsed twice in all), and the message body that asks for it."""
    text = json_text_near_the_caps()
    if action is send_request:
        answer: dict[str, Any] = {
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": MODEL,
            "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None, "message": {
                "role": "assistant", "refusal": None, "content": text}}]}
        body = {"messages": [{"role": "user", "content": "hi"}],
                "response_format": {"type": "json_object"}}
    else:
        answer = response_object(MODEL, text)
        body = {"input": "hi", "text": {"format": {"type": "json_object"}}}
    payload = json.dumps(answer, separators=(",", ":")).encode()
    assert MAX_ANSWER_BYTES - 2 * MIB < len(payload) < MAX_ANSWER_BYTES
    assert MAX_ANSWER_VALUES - 100_000 < json_values(payload) < MAX_ANSWER_VALUES
    return payload, body


@pytest.mark.parametrize("action", [create_response, send_request],
                         ids=["createResponse", "sendRequest"])
def test_the_largest_answer_that_passes_stays_under_the_bound_with_its_encoding(
        action: Any) -> None:
    payload, body = largest_answer(action)
    with HostileServer(sending(payload, "application/json")) as server:
        config = {"apiKey": API_KEY, "baseUrl": server.url, "model": MODEL}
        cipher = MessageCipher("a" * 32, "b" * 16)
        tracemalloc.start()
        try:
            result = run_process(action.process, FakeSelf(), {"id": "m1", "body": body}, config, {})
            _now, processed = tracemalloc.get_traced_memory()
            encoded = cipher.encode_json(result, 2)  # what the sailor publishes
        finally:
            _now, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
    output = result["body"]
    parsed = output["parsed"] if action is create_response else output["choices"][0][
        "message"]["parsed"]
    assert len(parsed["rows"]) == ROWS
    assert len(encoded) > len(payload)
    print(f"peak {processed / MIB:.0f} MiB in process, {peak / MIB:.0f} MiB with the "
          f"sailor's encoding, for a {len(payload) / MIB:.0f} MiB answer")
    assert peak < PEAK_BOUND, peak
