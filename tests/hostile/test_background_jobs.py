"""Background jobs cannot be paid twice, nor resumed by the wrong message, nor pile up.

A server on 127.0.0.1 scripts each answer; the test counts the POSTs that reach it.

- Money: a background create is sent at most once per delivery once it may have reached
  the server. Before, the client's retry re-sent `POST /responses` after a read timeout or
  a 5xx (3 POSTs, 3 jobs, 2 of them never followed nor cancelled). Now the create goes
  with `stream: true`, its first event names the job (its id is in the snapshot before
  anything else can fail), and a failure after sending fails the message with a text that
  says a job may exist. Only a refused connection or a 429 is tried again.
- Identity: a snapshot entry resumes only the message with its id *and* its request
  (before, any message with the same `id`, or a body of the same digest, got that job's
  result as its own). A message without an id is never identified by its body.
- Deadlines: only finite ones, never later than a job made now would end.
- The snapshot keeps at most RESPONSES_MAX_BACKGROUND_JOBS jobs; a message that would
  start one more is rebounded before anything is sent.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from lib.actions import create_response
from lib.errors import ConfigError
from lib.responses.errors import LongestWaitPassedError, ResponseMayExistError
from lib.responses.jobs import Job, JobBook, message_key, request_digest
from lib.responses.request import build_response_request
from tests.support.action_support import API_KEY, FakeSelf, run_process
from tests.support.hostile_server import HostileServer, answer, stream_headers
from tests.support.netguard import NetGuard
from tests.support.openai_standin import in_state, response_object
from tests.support.snapshots import job_writes, stored, with_jobs

MODEL = "gpt-5-mini"
BODY = {"input": "Research heat pumps", "background": True}
MAY_EXIST = "A background response may exist, and be billed"

Behaviour = Callable[[BaseHTTPRequestHandler], None]


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch, fresh_clients: None, fresh_jobs: JobBook
          ) -> Iterator[NetGuard]:
    del fresh_clients, fresh_jobs
    monkeypatch.setenv("RESPONSES_POLL_FIRST_S", "0.001")
    monkeypatch.setenv("RESPONSES_POLL_MAX_S", "0.002")
    with NetGuard().installed() as guard:
        yield guard
    assert {host for host, _port in guard.connects} <= {"127.0.0.1"}


class Script:
    """Answers POST /responses with the next of `creates` (the last one repeats); a job's
    GETs with `final` (after `running_polls` answers in progress) and its cancels with
    the job cancelled."""

    def __init__(self, creates: list[Behaviour], final: dict[str, Any] | None = None,
                 running_polls: int = 0) -> None:
        self.creates = creates
        self.final = final or response_object(MODEL, "Report", background=True)
        self.running_polls = running_polls
        self.posts = 0

    def __call__(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path
        if handler.command == "POST" and path == "/v1/responses":
            behave = self.creates[min(self.posts, len(self.creates) - 1)]
            self.posts += 1
            behave(handler)
        elif path.endswith("/cancel"):
            send_json(handler, in_state(self.final, "cancelled"))
        elif self.running_polls > 0:
            self.running_polls -= 1
            send_json(handler, in_state(self.final, "in_progress"))
        else:
            send_json(handler, self.final)


def send_json(handler: BaseHTTPRequestHandler, payload: dict[str, Any], status: int = 200,
              headers: dict[str, str] | None = None) -> None:
    answer(handler, status, json.dumps(payload).encode(), headers)


def created_event(final: dict[str, Any]) -> Behaviour:
    """The stream of a background create: `response.created` (queued), then it ends."""
    def behave(handler: BaseHTTPRequestHandler) -> None:
        stream_headers(handler)
        event = {"type": "response.created", "response": in_state(final, "queued"),
                 "sequence_number": 0}
        handler.wfile.write(f"event: response.created\ndata: {json.dumps(event)}\n\n".encode())
    return behave


def server_error(handler: BaseHTTPRequestHandler) -> None:
    send_json(handler, {"error": {"message": "The server had an error", "type": "server_error"}},
              status=500)


def unavailable_for_long(handler: BaseHTTPRequestHandler) -> None:
    send_json(handler, {"error": {"message": "Overloaded", "type": "server_error"}},
              status=503, headers={"Retry-After": "600"})


def rate_limited(handler: BaseHTTPRequestHandler) -> None:
    send_json(handler, {"error": {"message": "Rate limit reached", "type": "requests",
                                  "code": "rate_limit_exceeded"}},
              status=429, headers={"Retry-After": "0"})


def closes_without_answer(handler: BaseHTTPRequestHandler) -> None:
    handler.close_connection = True


RELEASE = threading.Event()  # ends the wait of a server that answers too late


def answers_after_the_timeout(handler: BaseHTTPRequestHandler) -> None:
    RELEASE.wait(5)
    handler.close_connection = True


def json_body_breaks(handler: BaseHTTPRequestHandler) -> None:
    """A server that ignores `stream` and answers JSON, whose body breaks off."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", "1000")
    handler.end_headers()
    handler.wfile.write(b'{"id": "resp_')
    handler.wfile.flush()
    handler.close_connection = True


def headers_then_nothing(handler: BaseHTTPRequestHandler) -> None:
    stream_headers(handler)
    handler.wfile.write(b": keep-alive\n\n")


def run(server: HostileServer, body: dict[str, Any] | None = None, *, msg_id: str | None = "m1",
        snapshot: dict[str, Any] | None = None, me: FakeSelf | None = None,
        **fields: str) -> tuple[FakeSelf, BaseException | None, Any]:
    me = me or FakeSelf()
    msg: dict[str, Any] = {"body": body or BODY}
    if msg_id is not None:
        msg["id"] = msg_id
    config = {"apiKey": API_KEY, "baseUrl": server.url, "model": MODEL, **fields}
    try:
        return me, None, run_process(create_response.process, me, msg, config, snapshot or {})
    except Exception as exc:
        return me, exc, None


def posts(server: HostileServer) -> list[dict[str, Any]]:
    return [json.loads(r["body"]) for r in server.requests
            if r["method"] == "POST" and r["path"] == "/v1/responses"]


def paths(server: HostileServer, method: str) -> list[str]:
    return [r["path"] for r in server.requests if r["method"] == method]


def snapshot_entries(me: FakeSelf) -> list[dict[str, Any]]:
    """Each snapshot write's jobs, by message key (None: the job ended)."""
    return job_writes(me.emitted)


# ---- at most one job per delivery ----------------------------------------------------------


def test_the_create_goes_as_a_stream_and_the_job_is_polled_once_its_id_came() -> None:
    final = response_object(MODEL, "Report", background=True)
    script = Script([created_event(final)], final, running_polls=2)
    with HostileServer(script) as server:
        me, error, result = run(server)
    assert error is None
    assert result["body"]["output_text"] == "Report"
    [sent] = posts(server)
    assert sent["stream"] is True
    assert sent["background"] is True
    assert "stream" not in result["body"] or result["body"]["stream"] is not True
    assert paths(server, "GET") == [f"/v1/responses/{final['id']}"] * 3
    assert snapshot_entries(me)[0]["m1"]["id"] == final["id"]


@pytest.mark.parametrize("failure", [server_error, unavailable_for_long, closes_without_answer,
                                     headers_then_nothing, json_body_breaks],
                         ids=["500", "503 with a long Retry-After", "no answer",
                              "the stream ends before the job is named",
                              "a JSON answer breaks off"])
def test_a_create_that_may_have_reached_the_server_is_sent_once(failure: Behaviour) -> None:
    with HostileServer(Script([failure])) as server:
        me, error, _ = run(server)
    assert isinstance(error, ResponseMayExistError), error
    assert MAY_EXIST in str(error)
    assert len(posts(server)) == 1
    assert [event for event, _ in me.emitted] == [], "neither rebounded nor remembered"


def test_a_create_that_timed_out_is_sent_once() -> None:
    RELEASE.clear()
    with HostileServer(Script([answers_after_the_timeout])) as server:
        try:
            _me, error, _ = run(server, requestTimeout="1")
        finally:
            RELEASE.set()
    assert isinstance(error, ResponseMayExistError)
    assert "no answer within 1 s" in str(error)
    assert len(posts(server)) == 1


def test_a_refused_create_is_tried_again() -> None:
    final = response_object(MODEL, "After the wait", background=True)
    with HostileServer(Script([rate_limited, created_event(final)], final)) as server:
        _me, error, result = run(server)
    assert error is None
    assert result["body"]["output_text"] == "After the wait"
    assert len(posts(server)) == 2, "a 429 is refused before any work: tried again"


def test_a_plain_create_is_still_retried() -> None:
    plain = response_object(MODEL, "Plain")
    with HostileServer(Script([server_error, server_error,
                               lambda h: send_json(h, plain)])) as server:
        _me, error, result = run(server, {"input": "Hi"})
    assert error is None
    assert result["body"]["output_text"] == "Plain"
    assert len(posts(server)) == 3
    assert "stream" not in posts(server)[0]


def test_the_id_is_remembered_before_a_broken_stream_can_fail_anything() -> None:
    final = response_object(MODEL, "Polled", background=True)
    with HostileServer(Script([created_event(final)], final)) as server:
        me, error, result = run(server, {**BODY, "stream": True})
    assert error is None
    assert result["body"]["output_text"] == "Polled"
    assert len(posts(server)) == 1
    assert "polling it instead" in me.logger.text()
    assert snapshot_entries(me)[0]["m1"]["id"] == final["id"]


# ---- resumed only by the same request ----------------------------------------------------------


def entry(response_id: str, body: dict[str, Any], model: str = MODEL,
          deadline_at: float = 4e9) -> dict[str, Any]:
    return {"id": response_id, "deadlineAt": deadline_at,
            "request": request_digest(build_response_request(body, model))}


def test_a_job_is_resumed_by_its_own_message_and_request() -> None:
    final = response_object(MODEL, "Mine", background=True)
    with HostileServer(Script([server_error], final)) as server:
        me, error, result = run(server, snapshot=with_jobs({"m1": entry(final["id"], BODY)}))
    assert error is None
    assert result["body"]["output_text"] == "Mine"
    assert posts(server) == []
    assert "Resuming the background response" in me.logger.text()


@pytest.mark.parametrize(("body", "model"), [
    ({"input": "Somebody else's question", "background": True}, MODEL),
    (BODY, "o3-deep-research"),
], ids=["another body", "another model"])
def test_a_job_of_another_request_with_the_same_id_is_not_resumed(
        body: dict[str, Any], model: str) -> None:
    theirs = response_object(model, "Not yours", background=True)
    mine = response_object(MODEL, "Yours", background=True)
    with HostileServer(Script([created_event(mine)], mine)) as server:
        me, error, result = run(server, snapshot=with_jobs({
            "m1": entry(theirs["id"], body, model)}))
    assert error is None
    assert result["body"]["output_text"] == "Yours"
    assert len(posts(server)) == 1
    assert "made by another request" in me.logger.text()
    assert paths(server, "POST")[-1] == f"/v1/responses/{theirs['id']}/cancel", \
        "the job whose entry was taken is cancelled: nobody could find it any more"


def test_an_entry_without_a_request_digest_is_not_resumed() -> None:
    """Entries written by an earlier version name no request."""
    mine = response_object(MODEL, "Fresh", background=True)
    with HostileServer(Script([created_event(mine)], mine)) as server:
        _me, error, result = run(server, snapshot=with_jobs({
            "m1": {"id": "resp_old", "deadlineAt": 4e9}}))
    assert error is None
    assert result["body"]["output_text"] == "Fresh"
    assert len(posts(server)) == 1


def test_a_message_without_an_id_is_not_identified_by_its_body() -> None:
    first = response_object(MODEL, "First", background=True)
    with HostileServer(Script([created_event(first)], first)) as server:
        me, error, result = run(server, msg_id=None)
    assert error is None
    assert result["body"]["output_text"] == "First"
    assert snapshot_entries(me) == [], "nothing another message with this body could take"


class StoppingSelf(FakeSelf):
    """A `self` whose sailor starts to shut down while the job is polled."""

    def __init__(self) -> None:
        super().__init__()
        self.shutting_down = threading.Event()
        self.shutting_down.set()


def test_a_job_nobody_could_resume_is_cancelled_at_shutdown() -> None:
    final = response_object(MODEL, "Never", background=True)
    with HostileServer(Script([created_event(final)], final, running_polls=5)) as server:
        _me, error, _ = run(server, msg_id=None, me=StoppingSelf())
    assert type(error).__name__ == "ShutdownInterrupted"
    assert paths(server, "POST") == ["/v1/responses", f"/v1/responses/{final['id']}/cancel"]


# ---- deadlines and the cap ------------------------------------------------------------------


@pytest.mark.parametrize("deadline", [math.nan, math.inf, -math.inf, "soon", True])
def test_an_entry_whose_deadline_is_not_a_finite_number_is_not_resumed(deadline: Any) -> None:
    mine = response_object(MODEL, "Fresh", background=True)
    with HostileServer(Script([created_event(mine)], mine)) as server:
        stale = entry("resp_theirs", BODY)
        _me, error, result = run(server, snapshot=with_jobs({
            "m1": stale | {"deadlineAt": deadline}}))
    assert error is None
    assert result["body"]["output_text"] == "Fresh"
    assert "/v1/responses/resp_theirs" not in paths(server, "GET")


def test_a_far_deadline_ends_by_the_longest_wait() -> None:
    final = response_object(MODEL, "Never", background=True)
    with HostileServer(Script([server_error], final, running_polls=10**9)) as server:
        _me, error, _ = run(server, snapshot=with_jobs({
            "m1": entry(final["id"], BODY, deadline_at=1e300)}), longestWait="0.0005")
    assert isinstance(error, LongestWaitPassedError)
    assert paths(server, "POST") == [f"/v1/responses/{final['id']}/cancel"]


def full_snapshot(count: int) -> dict[str, Any]:
    return with_jobs({f"other-{n}": entry(f"resp_other{n}", {"input": str(n)})
                      for n in range(count)})


def test_a_message_that_would_exceed_the_cap_is_rebounded_before_anything_is_sent(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESPONSES_MAX_BACKGROUND_JOBS", "3")
    with HostileServer(Script([server_error])) as server:
        me, error, result = run(server, snapshot=full_snapshot(3))
    assert error is None
    assert result is None
    assert [event for event, _ in me.emitted] == ["rebound"]
    assert posts(server) == []
    assert "keeps 3 background responses" in me.logger.text()


def test_below_the_cap_and_for_plain_requests_messages_go_through(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESPONSES_MAX_BACKGROUND_JOBS", "3")
    final = response_object(MODEL, "Fits", background=True)
    plain = response_object(MODEL, "Plain")
    with HostileServer(Script([created_event(final)], final)) as server:
        _me, error, result = run(server, snapshot=full_snapshot(2))
    assert error is None
    assert result["body"]["output_text"] == "Fits"
    with HostileServer(Script([lambda h: send_json(h, plain)])) as server:
        _me, error, result = run(server, {"input": "Hi"}, snapshot=full_snapshot(3))
    assert result["body"]["output_text"] == "Plain"


def test_the_default_cap_is_32_and_a_bad_value_names_the_variable(
        monkeypatch: pytest.MonkeyPatch) -> None:
    with HostileServer(Script([server_error])) as server:
        me, _error, _ = run(server, snapshot=full_snapshot(32))
        assert [event for event, _ in me.emitted] == ["rebound"]
        monkeypatch.setenv("RESPONSES_MAX_BACKGROUND_JOBS", "0")
        _me, error, _ = run(server)
    assert isinstance(error, ConfigError)
    assert "RESPONSES_MAX_BACKGROUND_JOBS" in str(error)


@pytest.mark.parametrize("message_id", [lambda n: f"{n}-" + "m" * 5000,
                                        lambda n: f"{n:03}" + "m" * 97],
                         ids=["digested", "the longest kept as it is"])
def test_the_snapshot_stays_small(message_id: Callable[[int], str]) -> None:
    """32 jobs with the longest ids and message keys: each write under 340 bytes, the
    snapshot under 11 KB."""
    book, published = JobBook(), []
    for n in range(32):
        key = message_key({"id": message_id(n)}) or ""
        book.remember(key, Job("resp_" + "a" * 123, 4e9, "f" * 32),
                      lambda *write: published.append(write))
    assert max(len(json.dumps(payload)) for _, payload in published) < 340
    assert len(json.dumps(stored(published))) < 32 * 340
