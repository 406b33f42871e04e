"""The async client (lib/openai/async_client.py) on aiohttp, against real servers on
127.0.0.1: the sync client's semantics, each checked again (headers and body, retries,
429, calls that are not idempotent, deadlines, the idle timeout, caps, redaction, no
cookies, the 404 hint, stop, connections kept by draining a stream's end)."""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from lib.errors import UserError
from lib.openai.aiohttp_transport import AiohttpTransport, ssl_context
from lib.openai.async_client import AsyncOpenAIClient, close_async_clients, get_async_client
from lib.openai.chat import create_chat_completion
from lib.openai.errors import (
    AnswerTooLargeError,
    APIConnectionError,
    APITimeoutError,
    BadRequestError,
    CallInterruptedError,
    InternalServerError,
    NotFoundError,
    NotResentError,
    RetryLaterError,
    StreamError,
)
from lib.openai.limits import MIB, AnswerLimits, CallLimits
from lib.openai.retry import RetryPolicy
from lib.version import USER_AGENT
from tests.support.async_calls import chat, run
from tests.support.hostile_server import HostileServer, answer, stream_headers
from tests.support.streaming_server import StreamingServer

KEY = "sk-async-MARKER-0123456789abcdefSECRET"
HELLO = {"messages": [{"role": "user", "content": "Hi"}]}
COMPLETION = {"id": "chatcmpl-a", "object": "chat.completion", "created": 1, "model": "m",
              "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                           "message": {"role": "assistant", "content": "pong",
                                       "refusal": None}}]}
CHUNKS = [
    {"id": "chatcmpl-s", "object": "chat.completion.chunk", "created": 1, "model": "m",
     "choices": [{"index": 0, "delta": {"role": "assistant", "content": "po"},
                  "finish_reason": None}]},
    {"id": "chatcmpl-s", "object": "chat.completion.chunk", "created": 1, "model": "m",
     "choices": [{"index": 0, "delta": {"content": "ng"}, "finish_reason": "stop"}]},
]
SERVER_ERROR = json.dumps({"error": {"message": "The server had an error.",
                                     "type": "server_error", "param": None,
                                     "code": None}}).encode()
RATE_LIMITED = json.dumps({"error": {"message": "Rate limit reached.", "type": "requests",
                                     "param": None, "code": "rate_limit_exceeded"}}).encode()


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make_client(url: str, sleeps: Sleeps | None = None, **kwargs: Any) -> AsyncOpenAIClient:
    policy = RetryPolicy(sleep=sleeps if sleeps is not None else Sleeps(),
                         clock=lambda: 1_800_000_000.0, random=lambda: 0.0)
    kwargs.setdefault("retry_policy", policy)
    return AsyncOpenAIClient(KEY, base_url=url, **kwargs)


def scripted(*answers: tuple[int, bytes, dict[str, str]]) -> Callable[..., None]:
    """Answers one after the other; the last one repeats."""
    queue = list(answers)

    def behave(handler: BaseHTTPRequestHandler) -> None:
        status, body, headers = queue.pop(0) if len(queue) > 1 else queue[0]
        answer(handler, status, body, headers)

    return behave


def ok(document: dict[str, Any] = COMPLETION) -> tuple[int, bytes, dict[str, str]]:
    return 200, json.dumps(document).encode(), {}


def sse(*chunks: dict[str, Any], done: bool = True) -> bytes:
    events = b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks)
    return events + (b"data: [DONE]\n\n" if done else b"")


@contextmanager
def released(hold: threading.Event) -> Iterator[None]:
    """Sets `hold` on the way out: a server's handler waiting on it ends."""
    try:
        yield
    finally:
        hold.set()


# ---- the request ----------------------------------------------------------------------


def test_a_call_carries_the_headers_and_a_compact_utf8_json_body() -> None:
    with HostileServer(scripted(ok())) as server:
        client = make_client(server.url, organization="org-1", project="proj-1")
        result = run(client, chat({"model": "m", "messages": [
            {"role": "user", "content": "Grüße"}]}))
    assert result == COMPLETION
    (request,) = server.requests
    assert (request["method"], request["path"]) == ("POST", "/v1/chat/completions")
    headers = request["headers"]
    assert headers["Authorization"] == f"Bearer {KEY}"
    assert headers["Accept"] == "application/json"
    assert headers["User-Agent"] == USER_AGENT
    assert headers["Content-Type"] == "application/json"
    assert (headers["OpenAI-Organization"], headers["OpenAI-Project"]) == ("org-1", "proj-1")
    assert request["body"] == ('{"model":"m","messages":[{"role":"user","content":"Grüße"}]}'
                               .encode())


def test_a_get_has_no_body_nor_content_type() -> None:
    with HostileServer(scripted(ok({"object": "list", "data": []}))) as server:
        result = run(make_client(server.url),
                     lambda client: client.request_json("GET", "/models", timeout_s=5))
    assert result == {"object": "list", "data": []}
    (request,) = server.requests
    assert request["method"] == "GET"
    assert "Content-Type" not in request["headers"]
    assert request["body"] == b""


def test_a_body_json_cannot_carry_is_a_bad_request_never_sent() -> None:
    with HostileServer(scripted(ok())) as server, pytest.raises(BadRequestError):
        run(make_client(server.url), chat({"model": "m", "temperature": float("nan"),
                                           **HELLO}))
    assert server.requests == []


# ---- retries --------------------------------------------------------------------------


def test_two_500s_then_the_answer() -> None:
    sleeps = Sleeps()
    with HostileServer(scripted((500, SERVER_ERROR, {}), (500, SERVER_ERROR, {}),
                                ok())) as server:
        result = run(make_client(server.url, sleeps), chat({"model": "m", **HELLO}))
    assert result == COMPLETION
    assert len(server.requests) == 3
    assert sleeps == [0.5, 1.0]


def test_three_500s_then_the_error_with_its_attempts() -> None:
    with HostileServer(scripted((500, SERVER_ERROR, {"x-request-id": "req_5"}))) as server, \
            pytest.raises(InternalServerError) as caught:
        run(make_client(server.url), chat({"model": "m", **HELLO}))
    assert len(server.requests) == 3
    assert caught.value.attempts == 3
    assert caught.value.request_id == "req_5"


def test_a_400_is_the_users_and_not_retried() -> None:
    body = json.dumps({"error": {"message": "Bad temperature", "type": "invalid_request_error",
                                 "param": "temperature", "code": None}}).encode()
    with HostileServer(scripted((400, body, {}))) as server, \
            pytest.raises(BadRequestError) as caught:
        run(make_client(server.url), chat({"model": "m", **HELLO}))
    assert len(server.requests) == 1
    assert isinstance(caught.value, UserError)
    assert caught.value.param == "temperature"


def test_a_429_waits_as_long_as_the_server_asks() -> None:
    sleeps = Sleeps()
    with HostileServer(scripted((429, RATE_LIMITED, {"retry-after-ms": "250"}),
                                ok())) as server:
        run(make_client(server.url, sleeps), chat({"model": "m", **HELLO}))
    assert sleeps == [0.25]


def test_a_wait_longer_than_we_sleep_is_retry_later() -> None:
    with HostileServer(scripted((429, RATE_LIMITED, {"retry-after": "600"}))) as server, \
            pytest.raises(RetryLaterError) as caught:
        run(make_client(server.url), chat({"model": "m", **HELLO}))
    assert caught.value.retry_after_s == 600
    assert len(server.requests) == 1


def test_a_call_that_is_not_idempotent_is_not_sent_again_after_a_500() -> None:
    with HostileServer(scripted((500, SERVER_ERROR, {}))) as server, \
            pytest.raises(NotResentError) as caught:
        run(make_client(server.url), lambda client: client.request_json(
            "POST", "/responses", {"model": "m"}, idempotent=False))
    assert len(server.requests) == 1
    assert isinstance(caught.value.cause, InternalServerError)


def test_a_call_that_is_not_idempotent_is_sent_again_after_a_429() -> None:
    with HostileServer(scripted((429, RATE_LIMITED, {}), ok())) as server:
        run(make_client(server.url), lambda client: client.request_json(
            "POST", "/responses", {"model": "m"}, idempotent=False))
    assert len(server.requests) == 2


def test_a_broken_success_of_a_call_that_is_not_idempotent_is_not_resent() -> None:
    with HostileServer(scripted((200, b"<html>oops", {}))) as server, \
            pytest.raises(NotResentError, match="not a JSON object"):
        run(make_client(server.url), lambda client: client.request_json(
            "POST", "/responses", {"model": "m"}, idempotent=False))
    assert len(server.requests) == 1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_refused_connection_is_retried_even_when_not_idempotent() -> None:
    """Nothing reached a server: sending again cannot make anything twice."""
    sleeps = Sleeps()
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(APIConnectionError, match="could not connect") as caught:
        run(make_client(url, sleeps), lambda client: client.request_json(
            "POST", "/responses", {"model": "m"}, idempotent=False))
    assert not isinstance(caught.value, NotResentError)
    assert caught.value.attempts == 3
    assert len(sleeps) == 2


# ---- time -----------------------------------------------------------------------------


def test_an_endless_stream_ends_by_the_total_deadline() -> None:
    hold = threading.Event()

    def forever(handler: BaseHTTPRequestHandler) -> None:
        stream_headers(handler)
        while not hold.wait(0.005):
            server.send(handler, sse(CHUNKS[0], done=False))

    seconds = itertools.count()  # one second per look: the deadline passes after 100 looks
    with HostileServer(forever) as server, released(hold), \
            pytest.raises(APITimeoutError) as caught:
        run(make_client(server.url, limits=CallLimits(min_total_deadline_s=100.0),
                        monotonic=lambda: float(next(seconds))),
            chat({"model": "m", "stream": True, **HELLO}, timeout_s=5))
    assert "took longer than its total deadline of 100 s" in str(caught.value)
    assert server.bytes_sent > 0


def test_a_server_silent_in_the_middle_of_a_stream_is_an_idle_timeout() -> None:
    hold = threading.Event()

    def silent(handler: BaseHTTPRequestHandler) -> None:
        stream_headers(handler)
        server.send(handler, sse(CHUNKS[0], done=False))
        hold.wait(10)

    with HostileServer(silent) as server, released(hold), pytest.raises(
            APITimeoutError, match=r"No data for more than 0\.2 s"):
        run(make_client(server.url), chat({"model": "m", "stream": True, **HELLO},
                                          timeout_s=0.2))


class LookingClock:
    """10 s more at every look; the server waits for the client's looks, so that each of
    its pieces is read on its own (the idle timeout is looked at once per piece read)."""

    def __init__(self) -> None:
        self.looks = 0
        self._looked = threading.Condition()

    def __call__(self) -> float:
        with self._looked:
            self.looks += 1
            self._looked.notify_all()
            return self.looks * 10.0

    def wait_for(self, looks: int) -> None:
        with self._looked:
            assert self._looked.wait_for(lambda: self.looks >= looks, timeout=10)


def test_keep_alives_alone_hit_the_idle_timeout_between_data_events() -> None:
    clock = LookingClock()

    def pings(handler: BaseHTTPRequestHandler) -> None:
        stream_headers(handler)
        for piece in [sse(CHUNKS[0], done=False), *[b": keep-alive\n\n"] * 5,
                      sse(CHUNKS[1])]:
            looks = clock.looks
            server.send(handler, piece)
            clock.wait_for(looks + 2)  # the piece read, the deadline looked at again

    with HostileServer(pings) as server, pytest.raises(
            APITimeoutError, match="no data for more than 25 s"):
        run(make_client(server.url, monotonic=clock),
            chat({"model": "m", "stream": True, **HELLO}, timeout_s=25))


def test_a_server_that_never_answers_is_a_timeout() -> None:
    hold = threading.Event()
    with HostileServer(lambda _handler: hold.wait(10)) as server, released(hold), \
            pytest.raises(APITimeoutError, match=r"no answer within 0\.2 s") as caught:
        run(make_client(server.url, retry_policy=RetryPolicy(max_retries=0, sleep=Sleeps())),
            chat({"model": "m", **HELLO}, timeout_s=0.2))
    assert caught.value.attempts == 1


# ---- caps -----------------------------------------------------------------------------


def test_a_huge_answer_is_refused_while_reading() -> None:
    def huge(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(64 * MIB))
        handler.end_headers()
        server.send(handler, b'{"id": "')
        while True:
            server.send(handler, b"z" * 65536)

    with HostileServer(huge) as server, pytest.raises(AnswerTooLargeError) as caught:
        run(make_client(server.url, limits=CallLimits(max_answer_bytes=MIB)),
            chat({"model": "m", **HELLO}))
    assert f"larger than {MIB} bytes" in str(caught.value)
    assert server.connection_closed.wait(10)
    assert server.bytes_sent < 64 * MIB


def test_an_answer_of_too_many_values_is_refused_before_it_is_parsed() -> None:
    many = {"object": "list", "data": [{} for _ in range(100)]}
    with HostileServer(scripted(ok(many))) as server, pytest.raises(
            AnswerTooLargeError, match="more than 50 JSON values"):
        run(make_client(server.url), lambda client: client.request_json(
            "GET", "/models", answer_limits=AnswerLimits(max_values=50)))


def test_a_line_without_end_is_refused_at_the_line_cap() -> None:
    def endless_line(handler: BaseHTTPRequestHandler) -> None:
        stream_headers(handler)
        server.send(handler, b"data: ")
        while True:
            server.send(handler, b"y" * 4096)

    with HostileServer(endless_line) as server, pytest.raises(
            StreamError, match="line longer than 65536 bytes"):
        run(make_client(server.url, limits=CallLimits(max_sse_line_bytes=65536)),
            chat({"model": "m", "stream": True, **HELLO}))


def test_an_endless_stream_is_refused_at_the_stream_cap() -> None:
    def endless(handler: BaseHTTPRequestHandler) -> None:
        stream_headers(handler)
        while True:
            server.send(handler, sse(CHUNKS[0], done=False))

    with HostileServer(endless) as server, pytest.raises(
            AnswerTooLargeError, match=f"event stream is larger than {MIB} bytes"):
        run(make_client(server.url, limits=CallLimits(max_stream_bytes=MIB)),
            chat({"model": "m", "stream": True, **HELLO}))


def test_an_error_answer_that_never_ends_is_read_only_to_its_cap() -> None:
    def endless_error(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(400)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Connection", "close")
        handler.end_headers()
        server.send(handler, b'{"error": {"message": "')
        while True:
            server.send(handler, b"w" * 65536)

    with HostileServer(endless_error) as server, pytest.raises(BadRequestError) as caught:
        run(make_client(server.url, limits=CallLimits(max_error_body_bytes=MIB)),
            chat({"model": "m", **HELLO}))
    assert len(str(caught.value)) < 400
    assert server.connection_closed.wait(10)


# ---- what the server says -------------------------------------------------------------


def test_a_key_echoed_by_the_server_is_redacted() -> None:
    echo = json.dumps({"error": {"message": f"Incorrect API key provided: {KEY}",
                                 "type": "invalid_request_error", "param": KEY,
                                 "code": "invalid_api_key"}}).encode()
    with HostileServer(scripted((401, echo, {"x-request-id": KEY}))) as server, \
            pytest.raises(UserError) as caught:
        run(make_client(server.url), chat({"model": "m", **HELLO}))
    error = caught.value
    assert "MARKER" not in f"{error} {error!r} {vars(error)}"


def test_a_404_of_an_endpoint_says_how_the_base_url_may_be_wrong() -> None:
    with HostileServer(scripted((404, b'{"detail": "Not Found"}', {}))) as server, \
            pytest.raises(NotFoundError) as caught:
        run(make_client(server.url), chat({"model": "m", **HELLO}))
    assert caught.value.hint is not None
    assert "base URL" in caught.value.hint


def test_cookies_set_by_the_server_are_not_kept_nor_sent() -> None:
    def cookie_monster(handler: BaseHTTPRequestHandler) -> None:
        answer(handler, 200, json.dumps(COMPLETION).encode(),
               {"Set-Cookie": f"track={len(server.requests)}; Path=/"})

    async def three(client: AsyncOpenAIClient) -> None:
        for _ in range(3):
            await create_chat_completion(client, {"model": "m", **HELLO})

    with HostileServer(cookie_monster) as server:
        run(make_client(server.url), three)
    assert [r["headers"].get("Cookie") for r in server.requests] == [None, None, None]


def test_a_server_that_ignores_stream_answers_json() -> None:
    with HostileServer(scripted(ok())) as server:
        result = run(make_client(server.url), chat({"model": "m", "stream": True, **HELLO}))
    assert result == COMPLETION


def test_lines_split_anywhere_crlf_and_multibyte_text_are_read() -> None:
    text = sse({**CHUNKS[0], "choices": [{"index": 0, "delta": {"content": "Grüße "},
                                          "finish_reason": None}]}, CHUNKS[1])
    text = text.replace(b"\n", b"\r\n")

    def in_pieces(handler: BaseHTTPRequestHandler) -> None:
        stream_headers(handler)
        for start in range(0, len(text), 7):  # splits lines, CRLFs and the ü
            server.send(handler, text[start:start + 7])

    with HostileServer(in_pieces) as server:
        result = run(make_client(server.url), chat({"model": "m", "stream": True, **HELLO}))
    assert result["choices"][0]["message"]["content"] == "Grüße ng"


def test_a_stream_cut_short_is_a_stream_error() -> None:
    def cut(handler: BaseHTTPRequestHandler) -> None:
        stream_headers(handler)
        server.send(handler, sse(CHUNKS[0], done=False))

    with HostileServer(cut) as server, pytest.raises(StreamError, match="ended before"):
        run(make_client(server.url), chat({"model": "m", "stream": True, **HELLO}))


def test_an_error_event_in_the_stream_is_raised_redacted() -> None:
    def failing(handler: BaseHTTPRequestHandler) -> None:
        stream_headers(handler)
        server.send(handler, sse(CHUNKS[0], done=False) + b"data: " + json.dumps(
            {"error": {"message": f"boom {KEY}", "type": "server_error"}}).encode() + b"\n\n")

    with HostileServer(failing) as server, pytest.raises(StreamError) as caught:
        run(make_client(server.url), chat({"model": "m", "stream": True, **HELLO}))
    assert "boom" in str(caught.value)
    assert "MARKER" not in str(caught.value)


# ---- stop -----------------------------------------------------------------------------


def test_no_request_is_sent_once_the_step_stops() -> None:
    stop = threading.Event()
    stop.set()
    with HostileServer(scripted(ok())) as server, pytest.raises(CallInterruptedError):
        run(make_client(server.url), chat({"model": "m", **HELLO}, stop=stop))
    assert server.requests == []


def test_a_stream_stops_between_chunks_when_the_step_stops() -> None:
    stop = threading.Event()

    def forever(handler: BaseHTTPRequestHandler) -> None:
        stream_headers(handler)
        for count in itertools.count(1):
            server.send(handler, sse(CHUNKS[0], done=False))
            if count == 3:
                stop.set()
            if count > 1000:
                return

    with HostileServer(forever) as server, pytest.raises(
            CallInterruptedError, match="left for redelivery"):
        run(make_client(server.url), chat({"model": "m", "stream": True, **HELLO}, stop=stop))


def test_a_retry_wait_on_the_loop_ends_when_the_step_stops() -> None:
    """No injected sleep: the real wait (50 s asked) ends by lib.openai.stopping."""
    stop = threading.Event()

    def overloaded(handler: BaseHTTPRequestHandler) -> None:
        stop.set()
        answer(handler, 503, SERVER_ERROR, {"retry-after": "50"})

    with HostileServer(overloaded) as server, pytest.raises(CallInterruptedError):
        run(make_client(server.url, retry_policy=RetryPolicy()),
            chat({"model": "m", **HELLO}, stop=stop))
    assert len(server.requests) == 1


# ---- connections ----------------------------------------------------------------------


async def three_streams(client: AsyncOpenAIClient) -> list[str]:
    body = {"model": "m", "stream": True, **HELLO}
    return [(await create_chat_completion(client, body, timeout_s=5))
            ["choices"][0]["message"]["content"] for _ in range(3)]


def test_streamed_calls_reuse_one_connection() -> None:
    streaming = StreamingServer(CHUNKS)
    with streaming.server as server:
        contents = run(make_client(server.url), three_streams)
    assert contents == ["pong"] * 3
    assert len(streaming.ports) == 3
    assert len(set(streaming.ports)) == 1


def test_a_body_left_open_after_the_last_event_costs_a_connection_not_the_answer() -> None:
    streaming = StreamingServer(CHUNKS, end_body=False)
    with streaming.server as server, released(streaming.release_hold):
        contents = run(make_client(server.url, limits=CallLimits(drain_timeout_s=0.05)),
                       three_streams)
    assert contents == ["pong"] * 3
    assert len(set(streaming.ports)) == 3  # each held connection was closed, not reused


# ---- the client per loop, the environment ---------------------------------------------


def test_one_client_per_credentials_per_event_loop() -> None:
    async def clients() -> tuple[Any, ...]:
        first = get_async_client(api_key=KEY, base_url="http://127.0.0.1:1/v1")
        again = get_async_client(api_key=KEY, base_url="http://127.0.0.1:1/v1")
        other = get_async_client(api_key=KEY, base_url="http://127.0.0.1:2/v1")
        await close_async_clients()
        return first, again, other

    first, again, other = asyncio.run(clients())
    assert first is again
    assert other is not first
    assert asyncio.run(clients())[0] is not first  # another loop, another client


def test_proxy_and_ca_settings_come_from_the_environment_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "")
    transport = AiohttpTransport("https://api.openai.com/v1")
    monkeypatch.setenv("HTTPS_PROXY", "http://other.internal:3128")
    assert transport._proxy == "http://proxy.internal:3128"
    assert ssl_context(False) is False


def test_the_client_repr_has_no_key() -> None:
    assert "MARKER" not in repr(make_client("http://127.0.0.1:1/v1"))
