"""A hostile API server: the component must not leak the key, hang, or grow without bound.

Every server here listens on 127.0.0.1 and misbehaves in one way: it echoes the API key
into every field of an error (and across the 300-character cut of a message), into a
stream's error event, sends a line or an answer without end, streams forever, or sets
cookies. DNS and connects are guarded (``tests/support/netguard.py``; in `exec` subprocesses
through ``tests/support/netguard_site``): nothing leaves 127.0.0.1, and what was contacted is
checked.

A planted key is looked for in every printed form (plain, repr, URL-encoded,
JSON-escaped) in every event, payload field and log line. Streams are read by the async
client on aiohttp (Send Request's; the only client that reads streams), non-streamed
calls by the sync client (the sync actions'); Send Request itself runs in `exec` and in
the sailor.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest

from lib.errors import UserError
from lib.openai.async_client import AsyncOpenAIClient
from lib.openai.client import OpenAIClient
from lib.openai.errors import (
    AnswerTooLargeError,
    APITimeoutError,
    AuthenticationError,
    CallInterruptedError,
    OpenAIError,
    StreamError,
)
from lib.openai.limits import MAX_SSE_LINE_BYTES, MIB, CallLimits
from lib.openai.paths import CHAT_COMPLETIONS_PATH
from lib.openai.retry import RetryPolicy
from lib.redaction import printed_forms
from tests.support.async_calls import complete
from tests.support.hostile_server import HostileServer, answer, stream_headers
from tests.support.netguard import NetGuard, recorded_connects, subprocess_env
from tests.support.platform_sim import PlatformSim
from tests.support.recording_server import run_cli

KEY = "sk-hostile-MARKER-5f0e1d2c3b4a69788796a5b4c3d2e1f0"
# What may never be seen: every printed form of the key, and its marker part on its own
# (a head of the key left by a cut would still carry it).
FORBIDDEN = (*printed_forms(KEY), "MARKER-5f0e")
CHUNK = {"id": "chatcmpl-h", "object": "chat.completion.chunk", "created": 1, "model": "m",
         "choices": [{"index": 0, "delta": {"content": "x"}, "finish_reason": None}]}

STOPPED_LINE = ("The step is shutting down: the API call was stopped and the message is left "
                "for redelivery")


def assert_clean(*texts: str) -> None:
    for text in texts:
        for form in FORBIDDEN:
            assert form not in text, f"{form!r} leaked"


def echo_the_key_everywhere(handler: BaseHTTPRequestHandler) -> None:
    """401 whose message carries the key across the 300-character cut, and the key (in
    several printed forms) in code, type, param and the request id header."""
    message = "x" * 250 + f" Incorrect API key provided: {KEY}"  # the key spans char 300
    error = {"message": message, "type": f"invalid_request_error {KEY!r}",
             "code": json.dumps({"key": KEY}), "param": f"key={quote_plus('Bearer ' + KEY)}"}
    answer(handler, 401, json.dumps({"error": error}).encode(), {"x-request-id": f"req_{KEY}"})


def error_event_with_the_key(handler: BaseHTTPRequestHandler) -> None:
    stream_headers(handler)
    error = {"message": f"upstream refused Bearer {KEY}", "type": KEY, "code": KEY,
             "param": KEY}
    handler.wfile.write(f"data: {json.dumps(CHUNK)}\n\nevent: error\n"
                        f"data: {json.dumps({'error': error})}\n\n".encode())


@pytest.fixture
def no_outside_network() -> Iterator[NetGuard]:
    """No name resolves (but localhost), no connect leaves 127.0.0.1; connects recorded."""
    with NetGuard().installed() as guard:
        yield guard


@pytest.fixture
def guarded_exec(tmp_path: Path, repo_root: Path) -> Iterator[Callable[..., list[dict]]]:
    """Runs `exec sendRequest` under the same guard; returns its events; checks that only
    127.0.0.1 was contacted and that no output line carries the key."""
    record = tmp_path / "connects.jsonl"

    def run(cfg: dict[str, Any], body: Any) -> list[dict]:
        done = run_cli(["exec", "sendRequest", "--msg", "-", "--cfg", json.dumps(cfg)],
                       subprocess_env(NetGuard(), record), repo_root,
                       stdin=json.dumps({"body": body}))
        assert_clean(done.stdout, done.stderr)
        return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]

    yield run
    assert {host for host, _port in recorded_connects(record)} <= {"127.0.0.1"}


def error_of(events: list[dict]) -> dict:
    [error] = [event["payload"] for event in events if event["event"] == "error"]
    return error


HELLO = {"messages": [{"role": "user", "content": "hello"}]}


def client(base_url: str, **kwargs: Any) -> OpenAIClient:
    """The sync client (the sync actions'): non-streamed calls."""
    return OpenAIClient(KEY, base_url=base_url,
                        retry_policy=RetryPolicy(sleep=lambda _s: None), **kwargs)


def post(base_url: str, body: dict[str, Any], *, limits: CallLimits | None = None,
         **kwargs: Any) -> dict[str, Any]:
    """A non-streamed chat completion through the sync client."""
    return client(base_url, limits=limits).request_json("POST", CHAT_COMPLETIONS_PATH, body,
                                                        **kwargs)


def stream(base_url: str, body: dict[str, Any], *, limits: CallLimits | None = None,
           monotonic: Callable[[], float] | None = None, **kwargs: Any) -> dict[str, Any]:
    """A streamed chat completion through the async client (aiohttp; the only client that
    reads streams), on a loop of its own."""
    extra: dict[str, Any] = {} if monotonic is None else {"monotonic": monotonic}
    api = AsyncOpenAIClient(KEY, base_url=base_url, limits=limits,
                            retry_policy=RetryPolicy(sleep=lambda _s: None), **extra)
    return complete(api, {**body, "stream": True}, **kwargs)


# ---- secrets --------------------------------------------------------------------------


def test_a_key_echoed_in_every_error_field_is_redacted(no_outside_network: NetGuard) -> None:
    with HostileServer(echo_the_key_everywhere) as server, \
            pytest.raises(AuthenticationError) as caught:
        post(server.url, {"model": "m", **HELLO})
    error = caught.value
    assert_clean(str(error), repr(error), *(str(getattr(error, field)) for field in
                                             ("message", "type", "code", "param",
                                              "request_id")))
    assert "Incorrect API key provided: ***" in error.message
    assert error.request_id == "req_***"
    assert {host for host, _port in no_outside_network.connects} == {"127.0.0.1"}


def test_a_key_in_a_stream_error_event_is_redacted(no_outside_network: NetGuard) -> None:
    with HostileServer(error_event_with_the_key) as server, \
            pytest.raises(StreamError) as caught:
        stream(server.url, {"model": "m", **HELLO})
    error = caught.value
    assert_clean(str(error), repr(error), *(str(getattr(error, field)) for field in
                                             ("message", "type", "code", "param")))
    assert error.message == "upstream refused Bearer ***"


def test_exec_emits_no_key_from_an_echoing_server(guarded_exec: Callable[..., list]) -> None:
    with HostileServer(echo_the_key_everywhere) as server:
        events = guarded_exec({"apiKey": KEY, "baseUrl": server.url, "model": "m"}, HELLO)
    error = error_of(events)
    assert "Incorrect API key provided: ***" in error["message"]
    assert len(server.requests) == 1  # the user's error: not retried


def test_exec_emits_no_key_from_a_stream_error_event(guarded_exec: Callable[..., list]) -> None:
    with HostileServer(error_event_with_the_key) as server:
        events = guarded_exec({"apiKey": KEY, "baseUrl": server.url, "model": "m"},
                              {**HELLO, "stream": True})
    assert "upstream refused Bearer ***" in error_of(events)["message"]


@pytest.mark.parametrize("api_key", [f"{KEY}\nX-Injected: yes", f"{KEY}\u20ac"])
def test_exec_refuses_a_key_http_cannot_carry_at_once(
        guarded_exec: Callable[..., list], api_key: str) -> None:
    with HostileServer(echo_the_key_everywhere) as server:
        events = guarded_exec({"apiKey": api_key, "baseUrl": server.url, "model": "m"}, HELLO)
    assert server.requests == []
    error = error_of(events)
    assert error["message"].startswith("API Key contains a character that cannot be sent")
    assert len(error["message"]) < 300
    assert error["stack"] == f"RequestNotSentError: {error['message']}"  # no traceback


def test_exec_keeps_the_traceback_of_a_server_failure(guarded_exec: Callable[..., list]) -> None:
    def overloaded(handler: BaseHTTPRequestHandler) -> None:
        answer(handler, 503, b'{"error": {"message": "busy", "type": "server_error"}}',
               {"retry-after": "0.01"})

    with HostileServer(overloaded) as server:
        error = error_of(guarded_exec({"apiKey": KEY, "baseUrl": server.url, "model": "m"},
                                      HELLO))
    assert len(server.requests) == 3
    assert error["name"] == "InternalServerError"
    assert error["message"].startswith("busy (status 503, type server_error). Tried 3 times;")
    assert error["stack"].startswith("Traceback (most recent call last):")


def test_exec_refuses_a_base_url_with_a_password_without_echo(
        guarded_exec: Callable[..., list]) -> None:
    for base_url in (f"ftp://user:{KEY}@127.0.0.1/v1", f"http://user:{KEY}@127.0.0.1/v1"):
        error = error_of(guarded_exec({"apiKey": "sk-other-key", "baseUrl": base_url,
                                       "model": "m"}, HELLO))
        assert "API base URL" in error["message"]


def test_exec_refuses_a_host_no_dns_can_hold_in_a_few_words(
        guarded_exec: Callable[..., list]) -> None:
    base_url = "http://" + "a" * 100_000 + "/v1"
    error = error_of(guarded_exec({"apiKey": KEY, "baseUrl": base_url, "model": "m"}, HELLO))
    assert error["message"].startswith("API base URL has an invalid host name")
    assert len(error["message"]) < 200
    assert len(error["stack"]) < 2_000


def test_exec_refuses_a_body_nested_too_deep(guarded_exec: Callable[..., list]) -> None:
    deep: Any = "x"
    for _ in range(500):
        deep = [deep]
    with HostileServer(echo_the_key_everywhere) as server:
        events = guarded_exec({"apiKey": KEY, "baseUrl": server.url, "model": "m"},
                              {**HELLO, "metadata": {"deep": deep}})
    assert server.requests == []
    assert error_of(events)["message"] == (
        "Invalid input: metadata.deep[0][0]... is nested more than 100 levels deep "
        "(the limit of a message body)")


def test_exec_refuses_a_message_too_deep_to_parse_in_a_line(repo_root: Path) -> None:
    text = '{"body": {"messages": [], "metadata": ' + "[" * 10_000 + "]" * 10_000 + "}}"
    done = run_cli(["exec", "sendRequest", "--msg", "-", "--cfg",
                    json.dumps({"apiKey": KEY, "model": "m"})], {}, repo_root, stdin=text)
    assert done.returncode == 2
    assert done.stderr.strip() == "exec: --msg: JSON nested too deep to read"
    assert done.stdout == ""


# ---- bounds ---------------------------------------------------------------------------


def test_an_endless_stream_ends_by_the_total_deadline(no_outside_network: NetGuard) -> None:
    def forever(handler: BaseHTTPRequestHandler) -> None:
        stream_headers(handler)
        while True:
            server.send(handler, f"data: {json.dumps(CHUNK)}\n\n".encode())
            time.sleep(0.01)

    # The client's clock advances one second each time it is read: the deadline (100 s)
    # passes after a counted number of looks, however slow the machine is.
    seconds = itertools.count()
    limits = CallLimits(min_total_deadline_s=100.0)
    with HostileServer(forever) as server, pytest.raises(APITimeoutError) as caught:
        stream(server.url, {"model": "m", **HELLO}, limits=limits,
               monotonic=lambda: float(next(seconds)), timeout_s=5)
    assert "took longer than its total deadline of 100 s" in str(caught.value)
    assert server.bytes_sent > 0
    assert server.connection_closed.wait(10)  # the client hung up; the server noticed


def test_a_line_without_end_is_refused_at_the_cap_in_linear_time() -> None:
    """The default cap (16 MiB): the stream is read to just past it, and the memory used
    stays a small multiple of it (the line splitting keeps one copy of the pending line)."""
    piece = b"y" * MIB

    def endless_line(handler: BaseHTTPRequestHandler) -> None:
        stream_headers(handler)
        server.send(handler, b"data: ")
        while True:
            server.send(handler, piece)

    with HostileServer(endless_line) as server:
        tracemalloc.start()
        try:
            with pytest.raises(StreamError, match="line longer than 16777216 bytes"):
                stream(server.url, {"model": "m", **HELLO})
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert server.bytes_sent > MAX_SSE_LINE_BYTES
    assert peak < 3 * MAX_SSE_LINE_BYTES, f"peak {peak / MIB:.0f} MiB"


def test_an_event_of_many_short_lines_is_refused_at_the_cap() -> None:
    """Each line under the cap, but one event's data lines pile up: the event is capped."""
    cap = 64 * 1024
    line = b"data: " + b"y" * 1000 + b"\n"

    def many_lines(handler: BaseHTTPRequestHandler) -> None:
        stream_headers(handler)
        for _ in range(4 * MIB // len(line)):
            server.send(handler, line)
        server.send(handler, b"\ndata: [DONE]\n\n")

    with HostileServer(many_lines) as server, pytest.raises(
            StreamError, match=f"event longer than {cap} characters"):
        stream(server.url, {"model": "m", **HELLO}, limits=CallLimits(max_sse_line_bytes=cap))


def test_a_huge_answer_is_refused_while_reading() -> None:
    def huge(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(64 * MIB))
        handler.end_headers()
        server.send(handler, b'{"id": "')
        while True:
            server.send(handler, b"z" * 65536)

    limits = CallLimits(max_answer_bytes=MIB)
    with HostileServer(huge) as server:
        tracemalloc.start()
        try:
            with pytest.raises(AnswerTooLargeError) as caught:
                post(server.url, {"model": "m", **HELLO}, limits=limits)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 3 * MIB, f"peak {peak / MIB:.1f} MiB"
    assert f"larger than {MIB} bytes" in str(caught.value)
    assert not isinstance(caught.value, UserError)
    assert server.connection_closed.wait(10)
    assert server.bytes_sent < 64 * MIB  # reading stopped early


def test_an_endless_stream_of_small_events_is_refused_at_the_stream_cap() -> None:
    """Each event is small (no line or event cap applies), but the assembled answer grows
    with every one: the whole stream is capped."""
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
             "choices": [{"index": 0, "delta": {"content": "z" * 1000}, "finish_reason": None}]}
    event = b"data: " + json.dumps(chunk).encode() + b"\n\n"

    def endless(handler: BaseHTTPRequestHandler) -> None:
        stream_headers(handler)
        while True:
            server.send(handler, event)

    with HostileServer(endless) as server, pytest.raises(AnswerTooLargeError) as caught:
        stream(server.url, {"model": "m", **HELLO}, limits=CallLimits(max_stream_bytes=MIB))
    assert f"event stream is larger than {MIB} bytes" in str(caught.value)
    assert server.connection_closed.wait(10)
    assert server.bytes_sent < 64 * MIB  # reading stopped early


def test_cookies_set_by_the_server_are_not_kept_nor_sent() -> None:
    completion = {"id": "c", "object": "chat.completion", "created": 1, "model": "m",
                  "choices": []}

    def cookie_monster(handler: BaseHTTPRequestHandler) -> None:
        answer(handler, 200, json.dumps(completion).encode(),
               {"Set-Cookie": f"track={len(server.requests)}; Path=/"})

    with HostileServer(cookie_monster) as server:
        api = client(server.url)
        for _ in range(3):
            api.request_json("POST", CHAT_COMPLETIONS_PATH, {"model": "m", **HELLO})
    assert [r["headers"].get("Cookie") for r in server.requests] == [None, None, None]


def test_an_error_answer_that_never_ends_is_read_only_to_its_cap() -> None:
    def endless_error(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(400)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Connection", "close")
        handler.end_headers()
        server.send(handler, b'{"error": {"message": "')
        while True:
            server.send(handler, b"w" * 65536)

    with HostileServer(endless_error) as server, pytest.raises(OpenAIError) as caught:
        post(server.url, {"model": "m", **HELLO}, limits=CallLimits(max_error_body_bytes=MIB))
    assert caught.value.status == 400
    assert len(str(caught.value)) < 400
    assert server.connection_closed.wait(10)


# ---- shutdown -----------------------------------------------------------------------------


def test_a_stream_stops_between_chunks_when_the_sailor_shuts_down() -> None:
    stop = threading.Event()

    def forever(handler: BaseHTTPRequestHandler) -> None:
        stream_headers(handler)
        for count in itertools.count(1):
            server.send(handler, f"data: {json.dumps(CHUNK)}\n\n".encode())
            if count == 3:
                stop.set()  # SIGTERM arrives while the answer streams
            time.sleep(0.01)

    with HostileServer(forever) as server, pytest.raises(CallInterruptedError) as caught:
        stream(server.url, {"model": "m", **HELLO}, stop=stop)
    assert "left for redelivery" in str(caught.value)
    assert server.connection_closed.wait(10)


def test_no_request_is_sent_once_the_sailor_shuts_down() -> None:
    stop = threading.Event()
    stop.set()
    with HostileServer(echo_the_key_everywhere) as server, \
            pytest.raises(CallInterruptedError):
        post(server.url, {"model": "m", **HELLO}, stop=stop)
    assert server.requests == []


def test_a_retry_wait_ends_when_the_sailor_shuts_down() -> None:
    stop = threading.Event()

    def overloaded(handler: BaseHTTPRequestHandler) -> None:
        stop.set()
        answer(handler, 503, b'{"error": {"message": "busy"}}', {"retry-after": "50"})

    with HostileServer(overloaded) as server, pytest.raises(CallInterruptedError):
        post(server.url, {"model": "m", **HELLO}, stop=stop)
    assert len(server.requests) == 1


@pytest.mark.broker
@pytest.mark.timeout(120)
def test_task_mode_leaves_a_message_whose_stream_was_stopped_for_redelivery(
        broker: Any, repo_root: Path) -> None:
    streaming = threading.Event()

    def forever(handler: BaseHTTPRequestHandler) -> None:
        stream_headers(handler)
        while True:
            server.send(handler, f"data: {json.dumps(CHUNK)}\n\n".encode())
            streaming.set()
            time.sleep(0.05)

    with HostileServer(forever) as server:
        config = {"apiKey": KEY, "baseUrl": server.url, "model": "m"}
        sim = PlatformSim(broker.url, step_data={"config": config, "snapshot": {}})
        try:
            sim.publish_input({"body": {**HELLO, "stream": True}})
            run = sim.start_sailor("sendRequest", cwd=repo_root)
            assert streaming.wait(30)
            assert run.stop() == 0  # SIGTERM, then the sailor's own graceful exit
            assert server.connection_closed.wait(10)
            assert sim.published_until_now() == []
            assert sim.wait_until(lambda: sim.input_depth() == 1)  # back for redelivery
            assert STOPPED_LINE in run.messages()  # stopped by the component, not the grace
            assert_clean(run.output())
        finally:
            sim.close()


# ---- the sailor in task mode on the real broker -----------------------------------------


@pytest.mark.broker
@pytest.mark.timeout(120)
def test_task_mode_publishes_and_logs_no_key_from_a_hostile_server(
        broker: Any, repo_root: Path, tmp_path: Path) -> None:
    def hostile(handler: BaseHTTPRequestHandler) -> None:
        body = json.loads(server.requests[-1]["body"])
        (error_event_with_the_key if body.get("stream") else echo_the_key_everywhere)(handler)

    with HostileServer(hostile) as server:
        config = {"apiKey": KEY, "baseUrl": server.url, "model": "m"}
        sim = PlatformSim(broker.url, step_data={"config": config, "snapshot": {}})
        try:
            sim.publish_input({"body": HELLO})
            sim.publish_input({"body": {**HELLO, "stream": True}})
            record = tmp_path / "connects.jsonl"
            run = sim.start_sailor("sendRequest", cwd=repo_root,
                                   **subprocess_env(NetGuard(), record))
            sim.wait_published(2, timeout=60)
            assert run.stop() == 0
            errors = [e.envelope()["error"] for e in sim.published_to("error")]
            assert sorted(e["message"][:40] for e in errors) == [
                "upstream refused Bearer *** (code ***, p", "x" * 40]
            assert_clean(run.output(), json.dumps(errors))
            stacks = {error["name"]: error["stack"] for error in errors}
            wrong_key = next(e for e in errors if e["name"] == "AuthenticationError")
            assert stacks["AuthenticationError"] == f"AuthenticationError: {wrong_key['message']}"
            assert stacks["StreamError"].startswith("Traceback")  # the server's: kept
            assert {host for host, _port in recorded_connects(record)} <= {"127.0.0.1"}
        finally:
            sim.close()
