"""Create Response on our sailor, in task mode on RabbitMQ, against the OpenAI stand-in.

The stand-in checks every request against the official OpenAPI document's
`CreateResponse`; background jobs there answer `in_progress` to a set number of polls.
Polls are made quick with the documented ``RESPONSES_POLL_FIRST_S`` /
``RESPONSES_POLL_MAX_S`` variables.
"""

from __future__ import annotations

import json
import signal

import pytest

from tests.e2e.flows import step_in_flow
from tests.support.openai_standin import OpenAIStandIn, Reply, response_object
from tests.support.openapi_contract import validate
from tests.support.platform_sim import FLOW_ID, STEP_ID, PlatformSim
from tests.support.snapshots import job_writes, kept_jobs, stored

API_KEY = "sk-e2e-responses-SECRET-key"
MODEL = "gpt-5-mini"
QUICK_POLLS = {"RESPONSES_POLL_FIRST_S": "0.05", "RESPONSES_POLL_MAX_S": "0.2"}

pytestmark = [pytest.mark.broker, pytest.mark.timeout(120)]


@pytest.fixture
def openai():
    with OpenAIStandIn(api_key=API_KEY, validator=validate) as standin:
        yield standin
        assert standin.violations == [], "a request broke the OpenAPI contract"


def step_data(openai: OpenAIStandIn, snapshot: dict | None = None, **config: str) -> dict:
    return {"config": {"apiKey": API_KEY, "baseUrl": openai.url, "model": MODEL, **config},
            "snapshot": snapshot or {}}


@pytest.fixture
def flow(broker, openai, repo_root):
    """Our step (createResponse) in a simulated flow; yields (sim, start)."""
    with step_in_flow(broker.url, repo_root, "createResponse", step_data(openai), API_KEY,
                      **QUICK_POLLS) as flow:
        yield flow


def only_data(sim: PlatformSim) -> dict:
    sim.wait_until(lambda: sim.published_to("data") or sim.published_to("error"), timeout=30)
    assert sim.published_to("error") == []
    [data] = sim.published_to("data")
    return data.decoded()["body"]


def snapshot_events(sim: PlatformSim) -> list[tuple[str, dict]]:
    """The snapshot messages the sailor published: (their event, their payload)."""
    return [(message.headers.get("snapshotEvent"), json.loads(message.body))
            for message in sim.published_to("snapshot")]


def stored_snapshot(sim: PlatformSim, snapshot: dict | None = None) -> dict:
    """The snapshot as the platform keeps it: `snapshot` replaces, `updateSnapshot` merges."""
    return stored(snapshot_events(sim), snapshot)


def test_a_plain_response_is_emitted_and_the_message_acknowledged(flow, openai):
    sim, start = flow
    sim.publish_input({"body": {"input": "Hello", "max_output_tokens": 100}})
    start()
    body = only_data(sim)
    assert body["output_text"] == "You said: Hello"
    assert body["status"] == "completed"
    [request] = openai.response_requests()
    assert request.body == {"input": "Hello", "max_output_tokens": 100, "model": MODEL}
    assert sim.wait_until(lambda: sim.input_depth() == 0)
    assert sim.rejected_count() == 0


def test_json_schema_response_carries_parsed(flow, openai):
    sim, start = flow
    schema = {"type": "object", "properties": {"answer": {"type": "string"}},
              "required": ["answer"], "additionalProperties": False}
    sim.publish_input({"body": {"input": "the sky", "text": {"format": {
        "type": "json_schema", "name": "answer", "strict": True, "schema": schema}}}})
    start()
    body = only_data(sim)
    assert body["parsed"] == {"answer": "the sky"}
    assert json.loads(body["output_text"]) == body["parsed"]


def test_streamed_response_is_emitted_once_whole(flow, openai):
    sim, start = flow
    sim.publish_input({"body": {"input": "Stream me", "stream": True}})
    start()
    body = only_data(sim)
    assert body["output_text"] == "You said: Stream me"
    assert body["usage"]["total_tokens"] == 16
    assert openai.response_requests()[0].body["stream"] is True


def test_failed_response_fails_the_message(flow, openai):
    sim, start = flow
    openai.script(Reply(json=response_object(MODEL, None, status="failed", error={
        "code": "invalid_prompt", "message": "Your prompt was flagged."})))
    sim.publish_input({"body": {"input": "Something bad"}})
    start()
    assert sim.wait_until(lambda: sim.published_to("error"), timeout=30)
    [error] = sim.published_to("error")
    envelope = error.envelope()
    assert "Your prompt was flagged." in envelope["error"]["message"]
    assert envelope["error"]["name"] == "ResponseRejectedError"
    assert sim.published_to("data") == []
    assert sim.wait_until(lambda: sim.rejected_count() == 1)


def test_incomplete_response_is_emitted_with_a_warning(flow, openai):
    sim, start = flow
    openai.script(Reply(json=response_object(MODEL, "Cut sh", status="incomplete",
                                             incomplete_reason="max_output_tokens")))
    sim.publish_input({"body": {"input": "Long story", "max_output_tokens": 16}})
    run = start()
    body = only_data(sim)
    assert body["status"] == "incomplete"
    assert body["output_text"] == "Cut sh"
    assert sim.wait_until(lambda: "max_output_tokens reached" in run.output())


def test_background_job_finishes_after_several_polls(flow, openai):
    sim, start = flow
    openai.background_polls = 4
    sim.publish_input({"id": "research-1", "body": {"input": "Research", "background": True}})
    start()
    body = only_data(sim)
    assert body["output_text"] == "You said: Research"
    [job_id] = openai.jobs
    assert openai.jobs[job_id].polls == 5
    [remembered, forgotten] = job_writes(snapshot_events(sim))
    assert list(remembered) == ["research-1"]
    assert remembered["research-1"]["id"] == job_id
    assert isinstance(remembered["research-1"]["deadlineAt"], float)
    assert len(remembered["research-1"]["request"]) == 32, "the digest of its request"
    assert forgotten == {"research-1": None}


def test_two_background_jobs_run_side_by_side(flow, openai):
    sim, start = flow
    openai.background_polls = 6
    for name in ("first", "second"):
        sim.publish_input({"id": name, "body": {"input": name, "background": True}})
    start(ELASTICIO_RABBITMQ_PREFETCH_SAILOR="2")
    assert sim.wait_until(lambda: len(sim.published_to("data")) == 2, timeout=30)
    texts = sorted(d.decoded()["body"]["output_text"] for d in sim.published_to("data"))
    assert texts == ["You said: first", "You said: second"]
    events = snapshot_events(sim)
    remembered = [set(kept_jobs(stored(events[:n]))) for n in range(1, len(events) + 1)]
    assert {"first", "second"} in remembered, "both jobs were remembered at the same time"
    assert kept_jobs(stored_snapshot(sim)) == {}


def test_job_is_cancelled_after_the_longest_wait(broker, openai, repo_root):
    openai.background_polls = None  # never ends
    sim = PlatformSim(broker.url, step_data=step_data(openai, longestWait="0.01"))
    try:
        sim.publish_input({"body": {"input": "Endless", "background": True}})
        run = sim.start_sailor("createResponse", cwd=repo_root, **QUICK_POLLS)
        assert sim.wait_until(lambda: sim.published_to("error"), timeout=30)
        [error] = sim.published_to("error")
        message = error.envelope()["error"]["message"]
        assert "longest wait of 0.01 minutes" in message
        assert "cancelled" in message
        [job_id] = openai.jobs
        assert openai.jobs[job_id].cancelled
        assert sim.published_to("data") == []
        assert sim.wait_until(lambda: sim.rejected_count() == 1)
        assert run.stop() == 0, run.output()
    finally:
        sim.close()
def test_job_interrupted_by_sigterm_is_resumed_not_created_again(broker, openai, repo_root):
    openai.background_polls = None  # runs until we let it end
    sim = PlatformSim(broker.url, step_data=step_data(openai))
    try:
        # an upstream message's `id` is also its messageId header
        sent = sim.publish_input({"id": "message-1",
                                  "body": {"input": "Long job", "background": True}},
                                 messageId="message-1")
        first = sim.start_sailor("createResponse", cwd=repo_root, **QUICK_POLLS)
        assert sim.wait_until(lambda: sim.published_to("snapshot"), timeout=30)
        [job_id] = openai.jobs
        assert sim.wait_until(lambda: openai.jobs[job_id].polls >= 2)
        first.terminate(signal.SIGTERM)
        assert first.wait(30) == 0, first.output()
        assert sim.published_to("data") == []
        assert sim.published_to("error") == []
        assert not openai.jobs[job_id].cancelled
        assert sim.wait_until(lambda: sim.input_depth() == 1), "left to the broker"
        assert "Processing stopped for the shutdown" in first.output()
        assert "shutdown grace period" not in first.output(), "stopped at once, not at the end"

        snapshot = stored_snapshot(sim)
        assert kept_jobs(snapshot)["message-1"]["id"] == job_id
        sim.api.answer("GET", f"/v1/tasks/{FLOW_ID}/steps/{STEP_ID}",
                       (200, step_data(openai, snapshot)))
        openai.jobs[job_id].polls_left = 2
        second = sim.start_sailor("createResponse", cwd=repo_root, **QUICK_POLLS)
        body = only_data(sim)
        assert body["id"] == job_id
        assert body["output_text"] == "You said: Long job"
        assert len(openai.response_requests()) == 1, "created once, resumed once"
        [data] = sim.published_to("data")
        assert data.headers["parentMessageId"] == sent["messageId"]
        assert kept_jobs(stored_snapshot(sim)) == {}
        assert "Resuming the background response" in second.output()
        assert second.stop() == 0, second.output()
    finally:
        sim.close()
