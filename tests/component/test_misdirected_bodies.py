"""A body written for the other action is refused before any request, with a pointer to
the action it was written for: Chat Completions' `messages` and parts sent to Create
Response, the Responses API's `input` and parts sent to Send Request."""

from __future__ import annotations

import pytest
import responses

from lib.actions import create_response, send_request
from lib.errors import InputValidationError
from lib.responses.jobs import JobBook
from tests.support.action_support import FakeSelf, cfg, run_process

pytestmark = pytest.mark.usefixtures("fresh_clients")


def refusal(process, body: dict) -> str:
    with pytest.raises(InputValidationError) as caught:
        run_process(process, FakeSelf(), {"id": "m1", "body": body}, cfg(), {})
    assert len(responses.calls) == 0
    return str(caught.value)


@pytest.fixture(autouse=True)
def fresh_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(create_response, "JOBS", JobBook())


@responses.activate
def test_a_chat_body_sent_to_create_response_says_it_looks_like_send_requests() -> None:
    text = refusal(create_response.process,
                   {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 50})
    assert text == (
        "Invalid input: messages: this looks like a Send Request body (messages); Create "
        "Response takes input (a text, or a list of role/content messages), or send it to "
        "Send Request; body needs one of input, prompt")


@responses.activate
def test_chat_parts_in_create_responses_input_are_named_with_their_responses_names() -> None:
    text = refusal(create_response.process, {"input": [{"role": "user", "content": [
        {"type": "input_text", "text": "Describe"},
        {"type": "text", "text": "this"},
        {"type": "file", "file": {"file_id": "file-1"}}]}]})
    assert text == (
        "Invalid input: input[0].content[1].type: text is a content part of Chat Completions "
        "(Send Request); Create Response takes input_text; input[0].content[2].type: file is "
        "a content part of Chat Completions (Send Request); Create Response takes input_file")


@responses.activate
def test_responses_parts_sent_to_send_request_point_to_create_response() -> None:
    text = refusal(send_request.process, {"messages": [
        {"role": "system", "content": "Be brief"},
        {"role": "user", "content": [{"type": "input_text", "text": "What is this?"},
                                     {"type": "input_image", "image_url": "https://x.example/a.png"}]},
    ]})
    assert text.startswith(
        "Invalid input: messages[1].content[0].type: input_text is a content part of the "
        "Responses API (Create Response); Send Request takes text; "
        "messages[1].content[1].type: input_image is a content part of the Responses API "
        "(Create Response); Send Request takes image_url")
    # the schema's own complaint about the string image_url follows
    assert text.endswith("messages[1].content[1].image_url must be an object, got string")


@responses.activate
def test_a_responses_body_sent_to_send_request_says_so() -> None:
    assert refusal(send_request.process, {"input": "Hi"}) == (
        "Invalid input: input: this looks like a Create Response body (the Responses API's "
        "input); Send Request takes messages, or send it to Create Response; messages is "
        "required")


@responses.activate
def test_the_pointer_comes_first_however_many_other_problems_there_are() -> None:
    body = {"messages": [{"role": "nobody", "content": [{"type": "input_text", "text": "x"}]}
                         for _ in range(8)]}
    text = refusal(send_request.process, body)
    assert text.startswith("Invalid input: messages[0].content[0].type: input_text is a "
                           "content part of the Responses API")
    assert "more)" in text  # the list is capped, the pointer is not among the cut
