"""Every field of every API error is redacted and cut in one place, and server-chosen
Response ids are used only when they have the documented shape.

Before, paths that built errors themselves skipped the redaction: the `x-request-id` of a
2xx answer went raw into "not a JSON object", "stream ended before ..." and broken
connection errors, and a failed Response's `id` and `error.code` went raw into
`The response resp_sk-proj-... failed: ... (code code-sk-proj-...)`. Now the base error's
constructor redacts every field with the process's own secrets (the client registered its
key), so each error class is built here from key-echoing input directly, and each path is
driven through both actions by a server on 127.0.0.1 that echoes the key.

A server-chosen id went unchecked into request paths and the snapshot: `..` made the poll
`GET /v1/` and a huge id was written into the snapshot. Only `resp_` and at most 123
letters, digits, `_` or `-` is taken, and never an id that carries the key.
"""

from __future__ import annotations

import importlib
import json
import pickle
import pkgutil
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import quote

import pytest

import lib
from lib.actions import create_response, send_request
from lib.openai.errors import (
    MAX_FIELD_CHARS,
    MAX_MESSAGE_CHARS,
    InternalServerError,
    NotResentError,
    OpenAIError,
    RetryLaterError,
)
from lib.openai.responses import MAX_RESPONSE_ID_CHARS, response_id_of
from lib.redaction import OWN_SECRETS, printed_forms
from lib.responses.errors import ResponseMayExistError
from lib.responses.output import failure_of
from tests.support.action_support import FakeSelf, run_process
from tests.support.hostile_server import HostileServer, answer
from tests.support.netguard import NetGuard
from tests.support.openai_standin import in_state, response_object
from tests.support.snapshots import with_jobs

KEY = "sk-proj-ECHO-MARKER-" + "Zq81Xw7Lk4Vb8Nc3Hs6Jd1Fg5Tp0Ym" * 5
FORBIDDEN = (*printed_forms(KEY), "ECHO-MARKER")
# The key as servers echo it: plain, inside JSON, repr'd, URL-encoded, after 290 characters
# (across the cut of a message), and a mebibyte of it.
ECHOES = {
    "plain": f"req_{KEY}",
    "json": json.dumps({"key": KEY}),
    "repr": repr(f"Bearer {KEY}\n"),
    "url-encoded": quote(f"key={KEY}", safe=""),
    "across the cut": "x" * 290 + KEY,
    "a mebibyte": KEY * (1 << 20 // len(KEY)),
}


def assert_clean(*texts: str) -> None:
    for text in texts:
        for form in FORBIDDEN:
            assert form not in text, f"{form[:40]!r} leaked"


@pytest.fixture(autouse=True)
def registered_key() -> Iterator[None]:
    """The key, as the component's client registers it when the step makes it."""
    OWN_SECRETS.register(KEY)
    yield
    OWN_SECRETS.clear()


def every_error_class() -> list[type[OpenAIError]]:
    """Every subclass of OpenAIError that lib/ defines (every module imported first)."""
    for module in pkgutil.walk_packages(lib.__path__, "lib."):
        importlib.import_module(module.name)
    found: list[type[OpenAIError]] = []
    pending: list[type[OpenAIError]] = [OpenAIError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending += cls.__subclasses__()
    return found


# The errors that wrap another, built from it.
WRAPPERS: dict[type[OpenAIError], Callable[[OpenAIError], OpenAIError]] = {
    RetryLaterError: lambda cause: RetryLaterError(120, cause),
    NotResentError: NotResentError,
    ResponseMayExistError: lambda cause: ResponseMayExistError(NotResentError(cause)),
}


def built(cls: type[OpenAIError], echo: str) -> OpenAIError:
    fields = dict.fromkeys(("type", "code", "param", "request_id", "hint"), echo)
    if cls in WRAPPERS:
        return WRAPPERS[cls](InternalServerError(echo, status=503, **fields))
    return cls(echo, status=500, **fields)


def texts_of(error: BaseException) -> list[str]:
    texts = [str(error), repr(error), *map(str, error.args), *map(str, vars(error).values())]
    return [*texts, *map(str, vars(pickle.loads(pickle.dumps(error))).values())]


@pytest.mark.parametrize("echo", ECHOES.values(), ids=ECHOES.keys())
def test_every_error_class_built_from_key_echoing_fields_shows_no_key(echo: str) -> None:
    classes = every_error_class()
    assert len(classes) >= 20, "the tree was not found"
    for cls in classes:
        error = built(cls, echo)
        assert_clean(*texts_of(error))
        assert len(error.message) <= MAX_MESSAGE_CHARS
        for field in (error.type, error.code, error.param, error.request_id):
            assert field is not None
            assert len(field) <= MAX_FIELD_CHARS


def test_a_failed_response_s_id_and_code_are_redacted() -> None:
    failed = failure_of({"id": f"resp_{KEY}", "status": "failed",
                         "error": {"code": f"code-{KEY}", "message": f"echo {KEY}"}})
    assert_clean(*texts_of(failed))
    assert str(failed).startswith("The response resp_*** failed: echo ***")
    assert "(code code-***)" in str(failed)


# ---- both actions against a server that echoes the key ----------------------------------


def not_json(handler: BaseHTTPRequestHandler) -> None:
    answer(handler, 200, f"<html>{KEY}</html>".encode(), {"x-request-id": f"req_{KEY}"},
           content_type="text/html")


def stream_cut_short(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "text/event-stream")
    handler.send_header("x-request-id", f"req_{KEY}")
    handler.send_header("Connection", "close")
    handler.end_headers()
    handler.wfile.write(b": keep-alive\n\n")


def connection_breaks(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", "1000")
    handler.send_header("x-request-id", f"req_{KEY}")
    handler.end_headers()
    handler.wfile.write(b'{"id": "')
    handler.wfile.flush()
    handler.close_connection = True
    handler.connection.close()


def error_answer(handler: BaseHTTPRequestHandler) -> None:
    error = {"message": "x" * 290 + KEY, "type": KEY, "code": KEY, "param": KEY}
    answer(handler, 400, json.dumps({"error": error}).encode(), {"x-request-id": KEY})


SERVERS = {"not JSON": (not_json, False), "stream cut short": (stream_cut_short, True),
           "connection breaks": (connection_breaks, False),
           "error answer": (error_answer, False)}
ACTIONS = {
    "sendRequest": (send_request, {"messages": [{"role": "user", "content": "hi"}]}),
    "createResponse": (create_response, {"input": "hi"}),
}


@pytest.fixture
def loopback_only() -> Iterator[NetGuard]:
    with NetGuard().installed() as guard:
        yield guard
    assert {host for host, _port in guard.connects} <= {"127.0.0.1"}


def run(action: Any, server: HostileServer, body: dict[str, Any],
        snapshot: dict[str, Any] | None = None) -> tuple[FakeSelf, BaseException | None, Any]:
    me = FakeSelf()
    config = {"apiKey": KEY, "baseUrl": server.url, "model": "gpt-5-mini"}
    try:
        result = run_process(action.process, me, {"id": "m1", "body": body}, config, snapshot or {})
    except Exception as exc:
        return me, exc, None
    return me, None, result


@pytest.mark.usefixtures("fresh_clients", "fresh_jobs", "loopback_only")
@pytest.mark.parametrize("server_name", SERVERS)
@pytest.mark.parametrize("action_name", ACTIONS)
def test_both_actions_show_no_key_from_any_path(action_name: str, server_name: str) -> None:
    action, body = ACTIONS[action_name]
    behave, streamed = SERVERS[server_name]
    with HostileServer(behave) as server:
        me, error, _ = run(action, server, {**body, "stream": streamed})
    assert isinstance(error, OpenAIError), error
    assert_clean(*texts_of(error), me.logger.text(), repr(me.emitted))
    assert "***" in str(error)


@pytest.mark.usefixtures("fresh_clients", "fresh_jobs", "loopback_only")
def test_create_response_shows_no_key_from_a_failed_response() -> None:
    failed = response_object("gpt-5-mini", None, status="failed", response_id=f"resp_{KEY}",
                             error={"code": f"code-{KEY}", "message": f"echo {KEY}"})
    with HostileServer(lambda h: answer(h, 200, json.dumps(failed).encode(),
                                        {"x-request-id": KEY})) as server:
        me, error, _ = run(create_response, server, {"input": "hi"})
    assert isinstance(error, OpenAIError)
    assert_clean(*texts_of(error), me.logger.text(), repr(me.emitted))
    assert "The response resp_*** failed" in str(error)


# ---- server-chosen ids -------------------------------------------------------------------

BAD_IDS = {
    "dot dot": "..",
    "path": "resp_1/../../models",
    "no prefix": "abc123",
    "too long": "resp_" + "a" * MAX_RESPONSE_ID_CHARS,
    "a mebibyte": "resp_" + "a" * (1 << 20),
    "the key": f"resp_{KEY}",
    "the key's head": f"resp_{KEY[:100]}",
}


def queued_job(response_id: str) -> Callable[[BaseHTTPRequestHandler], None]:
    queued = in_state(response_object("gpt-5-mini", "done", background=True,
                                      response_id=response_id), "queued")

    def behave(handler: BaseHTTPRequestHandler) -> None:
        if handler.command == "GET":  # a poll: the job is gone (the test ends at once)
            answer(handler, 404, b'{"error": {"message": "not found"}}')
        else:
            answer(handler, 200, json.dumps(queued).encode())
    return behave


@pytest.mark.usefixtures("fresh_clients", "fresh_jobs", "loopback_only")
@pytest.mark.parametrize("response_id", BAD_IDS.values(), ids=BAD_IDS.keys())
def test_a_server_chosen_id_of_another_shape_is_never_used(response_id: str) -> None:
    with HostileServer(queued_job(response_id)) as server:
        me, error, _ = run(create_response, server, {"input": "hi", "background": True})
    assert isinstance(error, OpenAIError)
    assert "is not of the documented shape" in str(error)
    assert len(str(error)) <= MAX_MESSAGE_CHARS
    assert [r["path"] for r in server.requests] == ["/v1/responses"], "polled or cancelled"
    assert [event for event, _ in me.emitted] == [], "written to the snapshot"
    assert_clean(*texts_of(error), me.logger.text())


@pytest.mark.usefixtures("fresh_clients", "fresh_jobs", "loopback_only")
def test_a_snapshot_entry_with_an_id_of_another_shape_is_not_resumed() -> None:
    entries = {"m1": {"id": "..", "deadlineAt": 4e9}}
    with HostileServer(lambda h: answer(h, 200, json.dumps(response_object(
            "gpt-5-mini", "fresh")).encode())) as server:
        _, error, result = run(create_response, server, {"input": "hi"},
                               snapshot=with_jobs(entries))
    assert error is None
    assert result["body"]["output_text"] == "fresh"
    assert [r["path"] for r in server.requests] == ["/v1/responses"]


def test_a_well_formed_id_is_taken_whole() -> None:
    response_id = "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b"
    assert response_id_of({"id": response_id}) == response_id
    longest = "resp_" + "A-_9" * 30 + "xyz"
    assert len(longest) == MAX_RESPONSE_ID_CHARS
    assert response_id_of({"id": longest}) == longest
