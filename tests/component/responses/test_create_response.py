"""Create Response end to end: `process` called as a plain function, OpenAI faked over HTTP.

Every request body is checked against the official document's `CreateResponse`, every
Response fixture against `Response` and every stream event against `ResponseStreamEvent`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
import responses
from elasticio_sailor import ShutdownInterrupted

from lib.actions import create_response
from lib.errors import (
    AttachmentError,
    AttachmentNotAllowedError,
    ConfigError,
    InputValidationError,
    OutputParseError,
    is_user_error,
)
from lib.openai.errors import BadRequestError, StreamError
from lib.responses.errors import (
    LongestWaitPassedError,
    ResponseFailedError,
    ResponseGoneError,
    ResponseRejectedError,
)
from lib.responses.jobs import Job, JobBook, request_digest
from lib.responses.request import build_response_request
from tests.support.action_support import (
    API_KEY,
    BASE_URL,
    FakeSelf,
    api_error,
    cfg,
    run_process,
)
from tests.support.netguard import NetGuard
from tests.support.openai_standin import in_state, response_events, response_object, sse_lines
from tests.support.openapi_contract import validate
from tests.support.snapshots import job_writes, kept_jobs, stored, with_jobs

pytestmark = pytest.mark.usefixtures("fresh_clients", "fresh_jobs", "quick_polls",
                                     "guarded_dns", "every_body_checked")

RESPONSES_URL = f"{BASE_URL}/responses"
MODEL = "gpt-5-mini"
STORAGE = "http://maester-service.platform.svc.cluster.local:3002"
STORAGE_TOKEN = "storage-token-XYZ"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.7\n" + b"x" * 100


@pytest.fixture
def every_body_checked() -> Iterator[None]:
    """OpenAI faked over HTTP for the whole test; afterwards every body the action POSTed
    to /responses must have matched the official `CreateResponse`, whether or not the
    test looked at it."""
    responses.start()
    try:
        yield
        sent_bodies()
    finally:
        responses.stop()
        responses.reset()


@pytest.fixture
def guarded_dns() -> Iterator[NetGuard]:
    """Attachment hosts resolve from a table: no DNS query leaves the machine."""
    with NetGuard({"files.internal": ["10.1.2.3"]}).installed() as guard:
        yield guard


@pytest.fixture
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESPONSES_POLL_FIRST_S", "0.001")
    monkeypatch.setenv("RESPONSES_POLL_MAX_S", "0.002")


def run(body: dict, config: dict | None = None, snapshot: dict | None = None,
        me: FakeSelf | None = None, msg_id: str = "m1") -> tuple[FakeSelf, object]:
    me = me or FakeSelf()
    result = run_process(create_response.process, me, {"id": msg_id, "body": body},
                                     config or cfg(model=MODEL), snapshot or {})
    return me, result


def answer(payload: dict, status: int = 200, url: str = RESPONSES_URL,
           method: str = responses.POST, **kwargs: object) -> None:
    if status == 200:
        validate("Response", payload)
    responses.add(method, url, json=payload, status=status, **kwargs)


def stream(events: list[dict]) -> None:
    for event in events:
        validate("ResponseStreamEvent", event)
    body = "".join(f"{block}\n\n" for block in sse_lines(events))
    responses.add(responses.POST, RESPONSES_URL, body=body, content_type="text/event-stream")


def sent_bodies() -> list[dict]:
    """Every body POSTed to /responses, each checked against the official schema."""
    bodies = []
    for call in responses.calls:
        if call.request.method == "POST" and call.request.url == RESPONSES_URL:
            body = json.loads(call.request.body)
            validate("CreateResponse", body)
            bodies.append(body)
    return bodies


def snapshot_updates(me: FakeSelf) -> list[dict]:
    """Each snapshot write's jobs, by message key (None: the job ended)."""
    return job_writes(me.emitted)


# ---- plain responses ----------------------------------------------------------------


def test_plain_response_is_emitted_whole_with_output_text() -> None:
    final = response_object(MODEL, "Hello there!")
    answer(final)
    me, result = run({"input": "Hi", "instructions": "Be brief.", "max_output_tokens": 200,
                      "model": "gpt-4o"})
    [body] = sent_bodies()
    assert body == {"input": "Hi", "instructions": "Be brief.", "max_output_tokens": 200,
                    "model": MODEL}
    assert responses.calls[0].request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert result == {"body": final | {"output_text": "Hello there!"}}
    assert "parsed" not in result["body"]
    assert "configured model" in me.logger.text()


def test_output_text_joins_message_text_parts_and_skips_the_rest() -> None:
    output = [
        {"type": "reasoning", "id": "rs_1", "summary": []},
        {"type": "message", "id": "msg_1", "status": "completed", "role": "assistant",
         "content": [{"type": "output_text", "text": "Hello ", "annotations": [],
                      "logprobs": []},
                     {"type": "refusal", "refusal": "no"},
                     {"type": "output_text", "text": "world", "annotations": [],
                      "logprobs": []}]},
        {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "f",
         "arguments": "{}", "status": "completed"},
    ]
    answer(response_object(MODEL, None, output=output))
    _me, result = run({"input": "Hi"})
    assert result["body"]["output_text"] == "Hello world"
    assert result["body"]["output"] == output


def test_json_schema_answer_carries_parsed() -> None:
    answer(response_object(MODEL, '{"item": "apple", "qty": 2}'))
    text = {"format": {"type": "json_schema", "name": "order", "strict": True, "schema": {
        "type": "object", "additionalProperties": False, "required": ["item", "qty"],
        "properties": {"item": {"type": "string"}, "qty": {"type": "integer"}}}}}
    _me, result = run({"input": "2 apples", "text": text})
    assert result["body"]["parsed"] == {"item": "apple", "qty": 2}
    assert sent_bodies()[0]["text"] == text


def test_json_mode_without_text_gives_parsed_null_and_bad_json_fails() -> None:
    answer(response_object(MODEL, None, output=[]))
    _me, result = run({"input": "JSON please", "text": {"format": {"type": "json_object"}}})
    assert result["body"]["parsed"] is None
    answer(response_object(MODEL, "not json"))
    with pytest.raises(OutputParseError, match="not valid JSON"):
        run({"input": "JSON please", "text": {"format": {"type": "json_object"}}})


def test_failed_response_fails_the_message_with_the_api_error() -> None:
    answer(response_object(MODEL, None, status="failed", error={
        "code": "invalid_prompt", "message": "Your prompt was flagged."}))
    with pytest.raises(ResponseRejectedError) as caught:
        run({"input": "Hi"})
    assert caught.value.code == "invalid_prompt"
    assert "Your prompt was flagged." in str(caught.value)
    assert is_user_error(caught.value)
    answer(response_object(MODEL, None, status="failed", error={
        "code": "server_error", "message": "The server had an error."}))
    with pytest.raises(ResponseFailedError) as caught:
        run({"input": "Hi"})
    assert not is_user_error(caught.value)


def test_incomplete_response_is_emitted_with_a_warning_naming_the_reason() -> None:
    final = response_object(MODEL, '{"answer": "cut', status="incomplete",
                            incomplete_reason="max_output_tokens")
    answer(final)
    me, result = run({"input": "Long", "max_output_tokens": 16,
                      "text": {"format": {"type": "json_object"}}})
    assert result["body"]["status"] == "incomplete"
    assert result["body"]["parsed"] is None
    warnings = [line for level, line in me.logger.lines if level == "warning"]
    assert any("incomplete" in line and "max_output_tokens reached" in line
               for line in warnings)


def test_http_errors_are_the_api_errors() -> None:
    answer(api_error("Unsupported parameter: 'frequency'.", error_type="invalid_request_error",
                     code="unsupported_parameter", param="frequency"), status=400)
    with pytest.raises(BadRequestError, match="Unsupported parameter"):
        run({"input": "Hi", "frequency": []})


# ---- streaming ----------------------------------------------------------------------


def test_stream_is_assembled_into_the_final_response() -> None:
    final = response_object(MODEL, "A long streamed answer.")
    stream(response_events(final))
    _me, result = run({"input": "Stream", "stream": True})
    assert result == {"body": final | {"output_text": "A long streamed answer."}}
    assert sent_bodies()[0]["stream"] is True


def test_stream_ending_in_incomplete_or_failed_is_handled_like_a_plain_answer() -> None:
    stream(response_events(response_object(MODEL, "cut", status="incomplete",
                                           incomplete_reason="content_filter")))
    me, result = run({"input": "Stream", "stream": True})
    assert result["body"]["status"] == "incomplete"
    assert "content filter" in me.logger.text()
    stream(response_events(response_object(MODEL, None, status="failed", error={
        "code": "rate_limit_exceeded", "message": "Slow down."})))
    with pytest.raises(ResponseFailedError, match="Slow down"):
        run({"input": "Stream", "stream": True})


@pytest.mark.parametrize("error_event", [
    {"type": "error", "code": "server_error", "message": "Boom", "param": None},
    {"type": "error", "error": {"type": "server_error", "code": "server_error",
                                "message": "Boom", "param": None}},
], ids=["flat", "nested"])
def test_error_event_is_a_stream_error(error_event: dict) -> None:
    events = response_events(response_object(MODEL, "x"))[:3]
    body = "".join(f"{b}\n\n" for b in sse_lines(events))
    error_event |= {"sequence_number": 3}
    if "error" not in error_event:  # the documented (flat) form; the nested one is not
        validate("ResponseStreamEvent", error_event)
    body += f"event: error\ndata: {json.dumps(error_event)}\n\n"
    responses.add(responses.POST, RESPONSES_URL, body=body, content_type="text/event-stream")
    with pytest.raises(StreamError, match="Boom") as caught:
        run({"input": "Stream", "stream": True})
    assert caught.value.code == "server_error"


def test_stream_cut_before_the_end_is_a_stream_error() -> None:
    stream(response_events(response_object(MODEL, "never finished"))[:-1])
    with pytest.raises(StreamError, match="ended before the response was finished"):
        run({"input": "Stream", "stream": True})


# ---- input --------------------------------------------------------------------------


def test_every_problem_is_reported_with_its_path() -> None:
    with pytest.raises(InputValidationError) as caught:
        run({"input": [{"role": "user"},
                       {"role": "user", "content": [{"type": "input_image"}]}],
             "previous_response_id": "resp_1", "conversation": "conv_1",
             "max_output_tokens": 8, "text": {"format": {"type": "json_schema"}}})
    assert caught.value.problems == [
        "body: previous_response_id and conversation cannot be used together",
        "input[0].content is required",
        "input[1].content[0] needs one of image_url, file_id",
        "max_output_tokens must be at least 16, got 8",
        "text.format.name is required",
        "text.format.schema is required",
    ]


def test_input_or_prompt_is_needed_and_the_body_must_be_an_object() -> None:
    with pytest.raises(InputValidationError, match="needs one of input, prompt"):
        run({"instructions": "x"})
    with pytest.raises(InputValidationError, match="must be a JSON object"):
        run_process(create_response.process, FakeSelf(), {"body": "text"}, cfg(model=MODEL), {})


@pytest.mark.parametrize("value", ["0", "-1", "abc", "721", True])
def test_an_invalid_longest_wait_is_a_configuration_error(value: object) -> None:
    with pytest.raises(ConfigError, match="Longest wait for a background response"):
        run({"input": "Hi"}, cfg(model=MODEL, longestWait=value))


def test_unknown_fields_pass_through_and_images_get_the_default_detail() -> None:
    answer(response_object(MODEL, "ok"))
    run({"input": [{"role": "user", "content": [
        {"type": "input_text", "text": "What is this?"},
        {"type": "input_image", "image_url": "https://example.com/cat.png"}]}],
        "tools": [{"type": "web_search"}], "include": ["web_search_call.action.sources"],
        "some_future_field": {"x": 1}})
    [body] = sent_bodies()
    assert body["input"][0]["content"][1] == {
        "type": "input_image", "image_url": "https://example.com/cat.png", "detail": "auto"}
    assert body["some_future_field"] == {"x": 1}
    assert body["tools"] == [{"type": "web_search"}]


def test_storage_image_and_internal_file_are_sent_inline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ELASTICIO_OBJECT_STORAGE_URI", STORAGE)
    monkeypatch.setenv("ELASTICIO_OBJECT_STORAGE_TOKEN", STORAGE_TOKEN)
    monkeypatch.setenv("ATTACHMENT_ALLOWED_HOSTS", "files.internal")
    responses.add(responses.GET, f"{STORAGE}/objects/1", body=PNG, content_type="image/png")
    responses.add(responses.GET, "http://files.internal/report", body=PDF,
                  content_type="application/pdf")
    answer(response_object(MODEL, "ok"))
    me, _ = run({"input": [{"role": "user", "content": [
        {"type": "input_image", "image_url": f"{STORAGE}/objects/1?sig=SIGNED", "detail": "low"},
        {"type": "input_file", "file_url": "http://files.internal/report"},
        {"type": "input_file", "file_url": "https://example.com/public.pdf"}]}]})
    [body] = sent_bodies()
    image, internal, public = body["input"][0]["content"]
    assert image["image_url"].startswith("data:image/png;base64,")
    assert internal["file_data"].startswith("data:application/pdf;base64,")
    assert internal["filename"] == "attachment-1.pdf"
    assert "file_url" not in internal
    assert public == {"type": "input_file", "file_url": "https://example.com/public.pdf"}
    storage_call = responses.calls[0].request
    assert storage_call.headers["Authorization"] == f"Bearer {STORAGE_TOKEN}"
    assert "SIGNED" not in me.logger.text()
    assert "input[0].content[0].image_url: image" in me.logger.text()


def test_a_failed_download_names_the_place_in_the_input(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ATTACHMENT_ALLOWED_HOSTS", "files.internal")
    responses.add(responses.GET, "http://files.internal/missing", status=404)
    with pytest.raises(AttachmentError, match=r"^input\[0\]\.content\[0\]\.file_url: "
                                              r"could not download .* HTTP 404"):
        run({"input": [{"role": "user", "content": [
            {"type": "input_file", "file_url": "http://files.internal/missing"}]}]})
    assert sent_bodies() == []


def test_a_file_url_of_another_scheme_names_the_place_in_the_input() -> None:
    with pytest.raises(AttachmentError, match=r"^input\[0\]\.content\[0\]\.file_url: .*ftp"):
        run({"input": [{"role": "user", "content": [
            {"type": "input_file", "file_url": "ftp://files.example/a.pdf"}]}]})
    assert len(responses.calls) == 0


def test_an_internal_url_is_refused_before_anything_is_sent() -> None:
    with pytest.raises(AttachmentNotAllowedError) as caught:
        run({"input": [{"role": "user", "content": [
            {"type": "input_text", "text": "x"},
            {"type": "input_image", "image_url": "http://169.254.169.254/latest/meta-data/"}]}]})
    assert str(caught.value) == ("input[0].content[1].image_url: this URL may not be "
                                 "downloaded (host not allowed)")
    assert len(responses.calls) == 0


# ---- background jobs ----------------------------------------------------------------


def entry(response_id: str, body: dict, deadline_at: float = 4_000_000_000,
          model: str = MODEL) -> dict:
    """A snapshot entry of the job that `body` (sent to `model`) made."""
    return {"id": response_id, "deadlineAt": deadline_at,
            "request": request_digest(build_response_request(body, model))}


def job_url(response_id: str) -> str:
    return f"{RESPONSES_URL}/{response_id}"


def queued_then(final: dict, polls_in_progress: int) -> None:
    """POST answers queued; the GETs answer in_progress `polls_in_progress` times, then
    `final`."""
    answer(in_state(final, "queued"))
    running = in_state(final, "in_progress")
    for _ in range(polls_in_progress):
        answer(running, url=job_url(final["id"]), method=responses.GET)
    answer(final, url=job_url(final["id"]), method=responses.GET)


def test_background_job_is_polled_to_its_end_and_remembered_meanwhile() -> None:
    final = response_object(MODEL, "Deep answer", background=True)
    queued_then(final, polls_in_progress=3)
    me, result = run({"input": "Research", "background": True})
    assert result["body"]["output_text"] == "Deep answer"
    [body] = sent_bodies()
    assert body["background"] is True
    assert body["store"] is True
    gets = [c for c in responses.calls if c.request.method == "GET"]
    assert len(gets) == 4
    [remembered, forgotten] = snapshot_updates(me)
    assert remembered["m1"]["id"] == final["id"]
    assert forgotten == {"m1": None}


def test_deep_research_models_run_in_the_background() -> None:
    final = response_object("o4-mini-deep-research", "Report", background=True)
    queued_then(final, polls_in_progress=0)
    _me, result = run({"input": "Research", "tools": [{"type": "web_search"}]},
                      cfg(model="o4-mini-deep-research"))
    assert result["body"]["output_text"] == "Report"
    assert sent_bodies()[0]["background"] is True


def test_job_still_running_after_the_longest_wait_is_cancelled() -> None:
    final = response_object(MODEL, "never", background=True)
    answer(in_state(final, "queued"))
    running = in_state(final, "in_progress")
    answer(running, url=job_url(final["id"]), method=responses.GET)
    cancelled = in_state(final, "cancelled")
    answer(cancelled, url=f"{job_url(final['id'])}/cancel")

    with pytest.raises(LongestWaitPassedError, match=r"longest wait of 0\.0005 minutes") as err:
        run({"input": "Research", "background": True}, cfg(model=MODEL, longestWait="0.0005"))
    assert is_user_error(err.value)
    assert any(c.request.url.endswith("/cancel") for c in responses.calls)


@pytest.mark.parametrize("legacy", [False, True], ids=["one key per job", "the map of 2.1.0"])
def test_redelivered_message_resumes_its_job_instead_of_creating_another(legacy: bool) -> None:
    final = response_object(MODEL, "Resumed", background=True)
    running = in_state(final, "in_progress")
    answer(running, url=job_url(final["id"]), method=responses.GET)
    answer(final, url=job_url(final["id"]), method=responses.GET)
    body = {"input": "Research", "background": True}
    snapshot = with_jobs({"m1": entry(final["id"], body)}, legacy=legacy) | {"otherKey": 1}
    me, result = run(body, snapshot=snapshot)
    assert result["body"]["output_text"] == "Resumed"
    assert sent_bodies() == [], "the job must not be created twice"
    assert "Resuming the background response" in me.logger.text()
    kept = stored(me.emitted, snapshot)
    assert kept_jobs(kept) == {}
    if legacy:  # the first write after the old map replaces the snapshot: the map is gone
        assert [event for event, _ in me.emitted] == ["snapshot"]
        assert kept == {}
    else:
        assert me.emitted == [("updateSnapshot", {"backgroundResponse:m1": None})]
        assert kept["otherKey"] == 1


def test_a_resumed_job_does_not_download_its_attachments_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The job already has them; a download that would fail now must not fail the resume."""
    monkeypatch.setenv("ATTACHMENT_ALLOWED_HOSTS", "files.internal")
    responses.add(responses.GET, "http://files.internal/gone", status=404)
    final = response_object(MODEL, "Resumed", background=True)
    answer(final, url=job_url(final["id"]), method=responses.GET)
    body = {"input": [{"role": "user", "content": [
        {"type": "input_file", "file_url": "http://files.internal/gone"}]}], "background": True}
    snapshot = with_jobs({"m1": entry(final["id"], body)})
    _, result = run(body, snapshot=snapshot)
    assert result["body"]["output_text"] == "Resumed"
    assert [c.request.url for c in responses.calls] == [job_url(final["id"])]


def test_a_resumed_job_that_is_gone_fails_clearly() -> None:
    answer(api_error("Response with id 'resp_gone' not found.",
                     error_type="invalid_request_error", code=None), status=404,
           url=job_url("resp_gone"), method=responses.GET)

    body = {"input": "Research", "background": True}
    snapshot = with_jobs({"m1": entry("resp_gone", body)})
    with pytest.raises(ResponseGoneError, match="no longer found"):
        run(body, snapshot=snapshot)
    assert sent_bodies() == []


def test_streamed_background_job_is_polled_when_the_stream_breaks() -> None:
    final = response_object(MODEL, "After the break", background=True)
    queued = in_state(final, "queued")
    stream([{"type": "response.created", "response": queued, "sequence_number": 0}])
    answer(final, url=job_url(final["id"]), method=responses.GET)
    me, result = run({"input": "Research", "background": True, "stream": True})
    assert result["body"]["output_text"] == "After the break"
    assert "polling it instead" in me.logger.text()
    assert len(sent_bodies()) == 1


def test_jobs_of_other_messages_left_long_ago_are_cancelled() -> None:
    answer(response_object(MODEL, "ok"))
    old = response_object(MODEL, None, status="cancelled")
    answer(old, url=f"{job_url('resp_old')}/cancel")
    snapshot = with_jobs({"gone-message": {"id": "resp_old", "deadlineAt": 1000}})
    me, _ = run({"input": "Hi"}, snapshot=snapshot)
    assert any(c.request.url.endswith("/resp_old/cancel") for c in responses.calls)
    assert snapshot_updates(me) == [{"gone-message": None}]


def test_several_jobs_run_at_once_and_keep_each_others_ids(fresh_jobs: JobBook) -> None:
    first = response_object(MODEL, "first", background=True)
    second = response_object(MODEL, "second", background=True)
    gate = threading.Event()
    published: list[tuple[str, object]] = []

    class Me(FakeSelf):
        def emit(self, event: str, payload: object = None) -> None:
            super().emit(event, payload)
            if event in ("updateSnapshot", "snapshot"):
                published.append((event, payload))

    answer(in_state(first, "queued"))
    answer(in_state(second, "queued"))

    def poll(response: dict):
        def callback(_request: object) -> tuple[int, dict, str]:
            if response is first:
                gate.wait(10)  # the first job ends only after the second was remembered
            return 200, {}, json.dumps(response)
        return callback

    responses.add_callback(responses.GET, job_url(first["id"]), callback=poll(first))
    responses.add_callback(responses.GET, job_url(second["id"]), callback=poll(second))
    results: dict[str, object] = {}

    def one(name: str) -> None:
        results[name] = run({"input": name, "background": True}, me=Me(), msg_id=name)[1]

    first_thread = threading.Thread(target=one, args=("first",))
    first_thread.start()
    while not published:
        threading.Event().wait(0.001)
    one("second")
    gate.set()
    first_thread.join(10)
    assert results["first"]["body"]["output_text"] == "first"
    assert results["second"]["body"]["output_text"] == "second"
    both = kept_jobs(stored(published[:2]))
    assert both == {"first": entry(first["id"], {"input": "first", "background": True},
                                   both["first"]["deadlineAt"]),
                    "second": both["second"]}
    assert kept_jobs(stored(published)) == {}


class StoppingSelf(FakeSelf):
    """A `self` whose sailor starts to shut down as soon as a job is remembered."""

    def __init__(self) -> None:
        super().__init__()
        self.shutting_down = threading.Event()

    def emit(self, event: str, payload: object = None) -> None:
        super().emit(event, payload)
        if event == "updateSnapshot":
            self.shutting_down.set()


def test_shutdown_leaves_the_job_running_and_the_next_delivery_resumes_it(
    fresh_jobs: JobBook,
) -> None:
    final = response_object(MODEL, "Finished later", background=True)
    answer(in_state(final, "queued"))
    me = StoppingSelf()
    with pytest.raises(ShutdownInterrupted, match="left running"):
        run({"input": "Long", "background": True}, me=me)
    assert not [c for c in responses.calls if c.request.url.endswith("/cancel")]
    [remembered] = snapshot_updates(me)
    assert remembered["m1"]["id"] == final["id"]
    assert fresh_jobs.claim("m1") == (True, Job(final["id"], remembered["m1"]["deadlineAt"],
                                               remembered["m1"]["request"]))
    fresh_jobs.release("m1")

    answer(final, url=job_url(final["id"]), method=responses.GET)
    again, result = run({"input": "Long", "background": True}, snapshot=with_jobs(remembered))
    assert result["body"]["output_text"] == "Finished later"
    assert len(sent_bodies()) == 1, "created once"
    assert snapshot_updates(again) == [{"m1": None}]


def test_shutdown_during_a_background_stream_leaves_the_job_running() -> None:
    final = response_object(MODEL, "streamed", background=True)
    stream(response_events(final))
    with pytest.raises(ShutdownInterrupted):
        run({"input": "Long", "background": True, "stream": True}, me=StoppingSelf())
    assert not [c for c in responses.calls if c.request.url.endswith("/cancel")]


def test_a_plain_stream_is_read_to_its_end_during_a_shutdown() -> None:
    final = response_object(MODEL, "all of it")
    stream(response_events(final))
    me = StoppingSelf()
    me.shutting_down.set()
    _me, result = run({"input": "Short", "stream": True}, me=me)
    assert result["body"]["output_text"] == "all of it"


def test_the_api_key_echoed_by_the_server_never_leaves() -> None:
    answer(response_object(MODEL, None, status="failed", error={
        "code": "invalid_prompt", "message": f"Bad prompt for key {API_KEY}"}))
    me = FakeSelf()
    with pytest.raises(ResponseRejectedError) as failed:
        run({"input": "Hi"}, me=me)
    echo = {"type": "error", "code": "server_error", "param": None,
            "message": f"upstream said {API_KEY!r}", "sequence_number": 0}
    responses.add(responses.POST, RESPONSES_URL, content_type="text/event-stream",
                  body=f"event: error\ndata: {json.dumps(echo)}\n\n")
    with pytest.raises(StreamError) as broken:
        run({"input": "Hi", "stream": True}, me=me)
    for text in (str(failed.value), str(broken.value), me.logger.text(), repr(me.emitted)):
        assert API_KEY not in text
        assert API_KEY[8:-6] not in text
    assert "***" in str(failed.value)
    assert "***" in str(broken.value)


def test_a_job_whose_id_cannot_be_written_to_the_snapshot_is_cancelled() -> None:
    final = response_object(MODEL, "never seen", background=True)
    answer(in_state(final, "queued"))
    answer(in_state(final, "cancelled"), url=f"{job_url(final['id'])}/cancel")

    class Broken(FakeSelf):
        def emit(self, event: str, payload: object = None) -> None:
            raise RuntimeError("the sailor could not take the event")

    with pytest.raises(RuntimeError):
        run({"input": "Long", "background": True}, me=Broken())
    assert [c.request.url for c in responses.calls][-1].endswith("/cancel")
