"""The step field On API error: an API error (after the client's retries) fails the
message (the default), or goes on as a data message `{error: {...}, requestId}` that the
flow can branch on; for every action, since lib/step.py does it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import responses

from lib.actions import create_embeddings, create_response, moderate, send_request
from lib.config import EMIT, RAISE, parse_step_config
from lib.errors import ConfigError, InputValidationError
from lib.openai.errors import BadRequestError, PermissionDeniedError
from lib.responses.jobs import JobBook
from lib.validation import load_schema
from tests.support.action_support import (
    API_KEY,
    BASE_URL,
    COMPLETIONS_URL,
    FakeSelf,
    api_error,
    cfg,
    completion,
    run_process,
)
from tests.support.openai_standin import response_object

pytestmark = pytest.mark.usefixtures("fresh_clients")

COMPONENT = json.loads((Path(__file__).resolve().parents[2] / "component.json").read_text())
CHAT = {"messages": [{"role": "user", "content": "Hi"}]}
ERROR_FIELDS = {"status", "type", "code", "param", "message"}


@pytest.fixture(autouse=True)
def fresh_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(create_response, "JOBS", JobBook())


def send(body: dict = CHAT, **fields: str) -> tuple[FakeSelf, object]:
    me = FakeSelf()
    return me, run_process(send_request.process, me, {"id": "m1", "body": body},
                           cfg(**fields), {})


@pytest.mark.parametrize(("value", "parsed"), [
    (None, RAISE), ("", RAISE), ("raise", RAISE), ("emit", EMIT), (" Emit ", EMIT)])
def test_the_field_is_read_blank_meaning_raise(value: str | None, parsed: str) -> None:
    assert parse_step_config(cfg(onApiError=value)).on_api_error == parsed


def test_an_unknown_choice_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="On API error must be one of raise, emit, got 'ignore'"):
        parse_step_config(cfg(onApiError="ignore"))


@responses.activate
def test_by_default_an_api_error_fails_the_message() -> None:
    responses.post(COMPLETIONS_URL, status=400, json=api_error(
        "Invalid 'messages[0].content'", error_type="invalid_request_error", code=None))
    with pytest.raises(BadRequestError):
        send()


@responses.activate
def test_emitted_an_api_error_is_the_output_message_without_secrets() -> None:
    responses.post(COMPLETIONS_URL, status=401, headers={"x-request-id": "req_123"},
                   json=api_error(f"Incorrect API key provided: {API_KEY}.",
                                  error_type="invalid_request_error", code="invalid_api_key"))
    me, result = send(onApiError="emit")
    assert result == {"body": {
        "error": {"status": 401, "type": "invalid_request_error", "code": "invalid_api_key",
                  "param": None, "message": result["body"]["error"]["message"]},
        "requestId": "req_123"}}
    message = result["body"]["error"]["message"]
    assert message.startswith("Incorrect API key provided: ")
    assert message.endswith("Hint: check the API key (and the organization/project, if set)")
    assert API_KEY not in json.dumps(result) + me.logger.text()
    assert "On API error is 'emit': the error is emitted as a message" in me.logger.text()
    assert me.emitted == []  # returned, so the sailor emits it as data, then end


@responses.activate
def test_retryable_errors_keep_their_retries_before_they_are_emitted() -> None:
    for _ in range(3):
        responses.post(COMPLETIONS_URL, status=503,
                       json={"error": {"message": "Overloaded", "type": "server_error"}})
    _, result = send(onApiError="emit")
    assert len(responses.calls) == 3  # the client's three attempts, then the message
    assert result["body"]["error"]["status"] == 503
    responses.calls.reset()
    responses.replace(responses.POST, COMPLETIONS_URL, json=completion("Fine"))
    _, answer = send(onApiError="emit")
    assert answer["body"]["choices"][0]["message"]["content"] == "Fine"


@responses.activate
def test_a_long_retry_after_still_rebounds() -> None:
    responses.post(COMPLETIONS_URL, status=429, headers={"retry-after": "120"},
                   json=api_error("Rate limit reached", error_type="requests",
                                  code="rate_limit_exceeded"))
    me, result = send(onApiError="emit")
    assert result is None
    assert [event for event, _ in me.emitted] == ["rebound"]


@responses.activate
def test_the_users_own_mistakes_still_fail_the_message() -> None:
    with pytest.raises(InputValidationError):
        send({"messages": []}, onApiError="emit")
    with pytest.raises(ConfigError):
        send(onApiError="emit", requestTimeout="0.5")
    assert len(responses.calls) == 0


@responses.activate
def test_a_failed_response_of_create_response_is_emitted_with_its_code() -> None:
    failed = response_object("gpt-5-mini", None, status="failed", error={
        "code": "server_error", "message": "The model failed to finish"})
    responses.post(f"{BASE_URL}/responses", json=failed)
    result = run_process(create_response.process, FakeSelf(), {"id": "m1", "body": {"input": "Hi"}},
                                     cfg(model="gpt-5-mini", onApiError="emit"), {})
    error = result["body"]["error"]
    assert (error["status"], error["code"]) == (None, "server_error")
    assert "The model failed to finish" in error["message"]


@pytest.mark.parametrize(("action", "path", "model", "body"), [
    (create_embeddings, "/embeddings", "text-embedding-3-small", {"input": "a"}),
    (moderate, "/moderations", "omni-moderation-latest", {"input": "a"}),
])
@responses.activate
def test_the_other_actions_emit_too(action, path: str, model: str, body: dict) -> None:
    responses.post(f"{BASE_URL}{path}", status=403, json=api_error(
        "You are not allowed to use this model", error_type="invalid_request_error",
        code=None))
    result = run_process(action.process, FakeSelf(), {"id": "m1", "body": body},
                            cfg(model=model, onApiError="emit"), {})
    assert result["body"]["error"]["status"] == 403
    with pytest.raises(PermissionDeniedError):  # the default fails the message
        run_process(action.process, FakeSelf(), {"id": "m1", "body": body}, cfg(model=model), {})


@pytest.mark.parametrize("action_id", list(COMPONENT["actions"]))
def test_every_output_schema_describes_the_error_message(action_id: str) -> None:
    """The mapper shows error and requestId, so that a flow can branch on them."""
    schema = load_schema(COMPONENT["actions"][action_id]["metadata"]["out"].removeprefix(
        "./schemas/metadata/"))
    properties = schema["properties"]
    assert set(properties["error"]["properties"]) == ERROR_FIELDS
    assert properties["requestId"]["required"] is False
    assert properties["error"]["required"] is False
