"""Send Request end to end: `process` called as a plain function, OpenAI faked over HTTP."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest
import requests
import responses

from lib.actions import send_request
from lib.errors import (
    AttachmentDownloadError,
    AttachmentNotAllowedError,
    ConfigError,
    InputValidationError,
    OutputParseError,
    UserError,
)
from lib.openai.errors import AuthenticationError, BadRequestError, InsufficientQuotaError
from tests.support.action_support import (
    API_KEY,
    COMPLETIONS_URL,
    FakeSelf,
    api_error,
    cfg,
    completion,
    run_process,
)
from tests.support.netguard import NetGuard
from tests.support.openapi_contract import validate

pytestmark = pytest.mark.usefixtures("fresh_clients", "guarded_dns")


@pytest.fixture
def guarded_dns() -> Iterator[NetGuard]:
    """Attachment hosts resolve from a table: no DNS query leaves the machine."""
    with NetGuard({"files.example.com": ["93.184.215.14"]}).installed() as guard:
        yield guard

STORAGE = "http://maester-service.platform.svc.cluster.local:3002"
STORAGE_TOKEN = "storage-token-XYZ"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.7\n" + b"x" * 100


def run(body: dict, config: dict | None = None, **kwargs: object) -> tuple[FakeSelf, object]:
    me = FakeSelf()
    result = run_process(send_request.process, me, {"id": "m1", "body": body, **kwargs},
                         config or cfg(), {})
    return me, result


def sent_bodies() -> list[dict]:
    """Every body POSTed to /chat/completions, each checked against the official schema."""
    bodies = []
    for call in responses.calls:
        if call.request.url == COMPLETIONS_URL:
            body = json.loads(call.request.body)
            validate("CreateChatCompletionRequest", body)
            bodies.append(body)
    return bodies


def answer(payload: dict, status: int = 200, **kwargs: object) -> None:
    if status == 200:
        validate("CreateChatCompletionResponse", payload)
    responses.add(responses.POST, COMPLETIONS_URL, json=payload, status=status, **kwargs)


@responses.activate
def test_string_content_of_version_1_0_0() -> None:
    answer(completion("Hi, I am an assistant."))
    me, result = run({"messages": [{"role": "user", "content": "Hi there, what is your name?"}]})
    assert result == {"body": completion("Hi, I am an assistant.")}
    (body,) = sent_bodies()
    assert body == {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "Hi there, what is your name?"}],
    }
    assert me.emitted == []


@responses.activate
def test_headers_come_from_the_configuration() -> None:
    answer(completion())
    run({"messages": [{"role": "user", "content": "x"}]},
        cfg(organization=" org-123 ", project="proj_abc"))
    request = responses.calls[0].request
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert request.headers["OpenAI-Organization"] == "org-123"
    assert request.headers["OpenAI-Project"] == "proj_abc"


@responses.activate
def test_a_custom_base_url_receives_the_request() -> None:
    url = "http://localhost:11434/v1/chat/completions"
    responses.add(responses.POST, url, json=completion(model="llama3"))
    _me, result = run({"messages": [{"role": "user", "content": "x"}]},
                      cfg(baseUrl="http://localhost:11434/v1/", model="llama3"))
    assert result["body"]["model"] == "llama3"
    assert responses.calls[0].request.url == url


@responses.activate
def test_everything_of_the_current_api_passes_through() -> None:
    answer(completion())
    body = {
        "messages": [
            {"role": "developer", "content": [{"type": "text", "text": "Be brief."}]},
            {"role": "system", "content": "You are helpful."},
            {"role": "user", "name": "ann", "content": [
                {"type": "text", "text": "What is in these?"},
                {"type": "image_url",
                 "image_url": {"url": "https://example.com/cat.png", "detail": "low"}},
                {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
                {"type": "file", "file": {"file_id": "file-abc"}},
            ]},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_1", "type": "function",
                 "function": {"name": "get_weather", "arguments": '{"city": "Bonn"}'}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": '{"temp": 21}'},
        ],
        "tools": [{"type": "function", "function": {
            "name": "get_weather", "description": "Weather of a city", "strict": True,
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                           "required": ["city"], "additionalProperties": False}}}],
        "tool_choice": "auto",
        "parallel_tool_calls": False,
        "max_completion_tokens": 500,
        "reasoning_effort": "low",
        "verbosity": "low",
        "service_tier": "flex",
        "store": True,
        "metadata": {"flow": "orders"},
        "logprobs": True,
        "top_logprobs": 2,
        "prediction": {"type": "content", "content": "The weather is"},
        "modalities": ["text", "audio"],
        "audio": {"voice": "alloy", "format": "mp3"},
        "seed": 7,
        "stop": ["\n\n"],
        "safety_identifier": "user-42",
        "prompt_cache_key": "orders",
        "some_field_from_next_month": {"anything": [1, 2]},
    }
    run(body)
    (sent,) = sent_bodies()
    assert sent == {**body, "model": "gpt-4o-mini"}


@responses.activate
def test_the_configured_model_wins_over_one_in_the_message() -> None:
    answer(completion())
    me, _ = run({"model": "gpt-3.5-turbo", "messages": [{"role": "user", "content": "x"}]})
    assert sent_bodies()[0]["model"] == "gpt-4o-mini"
    assert "gpt-3.5-turbo" in me.logger.text()


@responses.activate
@pytest.mark.parametrize("model", ["o3-mini", "gpt-5", "gpt-5.1-mini", "ft:o4-mini:acme::x1"])
def test_reasoning_models_get_max_completion_tokens(model: str) -> None:
    answer(completion(model=model))
    run({"messages": [{"role": "developer", "content": "x"}], "max_tokens": 300}, cfg(model=model))
    (body,) = sent_bodies()
    assert body["max_completion_tokens"] == 300
    assert "max_tokens" not in body


@responses.activate
def test_other_models_keep_max_tokens() -> None:
    answer(completion())
    run({"messages": [{"role": "user", "content": "x"}], "max_tokens": 300})
    assert sent_bodies()[0]["max_tokens"] == 300


@responses.activate
def test_json_mode_adds_parsed() -> None:
    answer(completion('{"name": "Ann", "age": 31}'))
    _me, result = run({
        "messages": [{"role": "user", "content": "Answer in JSON: who?"}],
        "response_format": {"type": "json_object"},
    })
    message = result["body"]["choices"][0]["message"]
    assert message["parsed"] == {"name": "Ann", "age": 31}
    assert message["content"] == '{"name": "Ann", "age": 31}'


@responses.activate
def test_structured_outputs_parsed_and_refusal() -> None:
    payload = completion('{"ok": true}')
    payload["choices"].append({
        "index": 1, "logprobs": None, "finish_reason": "stop",
        "message": {"role": "assistant", "content": None, "refusal": "I can't help with that.",
                    "annotations": []},
    })
    answer(payload)
    _me, result = run({
        "messages": [{"role": "user", "content": "x"}],
        "n": 2,
        "response_format": {"type": "json_schema", "json_schema": {
            "name": "verdict", "strict": True,
            "schema": {"type": "object", "properties": {"ok": {"type": "boolean"}},
                       "required": ["ok"], "additionalProperties": False}}},
    })
    first, second = (c["message"] for c in result["body"]["choices"])
    assert first["parsed"] == {"ok": True}
    assert second["parsed"] is None
    assert second["refusal"] == "I can't help with that."


@responses.activate
def test_cut_off_json_is_an_error_naming_finish_reason() -> None:
    answer(completion('{"items": [1, 2, ', finish_reason="length"))
    with pytest.raises(OutputParseError, match=r"finish_reason 'length'.*max_completion_tokens"):
        run({"messages": [{"role": "user", "content": "JSON please"}],
             "response_format": {"type": "json_object"}})


@responses.activate
def test_text_answers_get_no_parsed() -> None:
    answer(completion("{not json"))
    _me, result = run({"messages": [{"role": "user", "content": "x"}]})
    assert "parsed" not in result["body"]["choices"][0]["message"]


@responses.activate
def test_tool_calls_come_back_whole() -> None:
    call = {"id": "call_9", "type": "function",
            "function": {"name": "lookup", "arguments": '{"sku": "A-1"}'}}
    answer(completion(None, finish_reason="tool_calls", tool_calls=[call]))
    _me, result = run({
        "messages": [{"role": "user", "content": "Find A-1"}],
        "tools": [{"type": "function", "function": {"name": "lookup", "parameters": {
            "type": "object", "properties": {"sku": {"type": "string"}}}}}],
        "tool_choice": {"type": "function", "function": {"name": "lookup"}},
    })
    assert result["body"]["choices"][0]["message"]["tool_calls"] == [call]


@responses.activate
def test_storage_attachments_of_version_1_2_0_are_sent_inline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ELASTICIO_OBJECT_STORAGE_URI", STORAGE)
    monkeypatch.setenv("ELASTICIO_OBJECT_STORAGE_TOKEN", STORAGE_TOKEN)
    image_url = f"{STORAGE}/objects/img-1?storage_type=maester"
    file_url = f"{STORAGE}/objects/doc-2?storage_type=maester"
    responses.add(responses.GET, image_url, body=PNG, content_type="image/png")
    responses.add(responses.GET, file_url, body=PDF, content_type="application/octet-stream")
    answer(completion("A cat and an invoice."))
    me, _ = run({"messages": [{"role": "user", "content": [
        {"type": "text", "text": "Describe"},
        {"type": "image_url", "image_url": {"url": image_url}},
        {"type": "file", "file": {"file_url": file_url}},
    ]}], "response_format": {"type": "text"}})

    (body,) = sent_bodies()
    parts = body["messages"][0]["content"]
    assert parts[1]["image_url"]["url"] == "data:image/png;base64," + base64.b64encode(
        PNG).decode()
    assert parts[2]["file"] == {
        "file_data": "data:application/pdf;base64," + base64.b64encode(PDF).decode(),
        "filename": "attachment-1.pdf",
    }
    downloads = [c.request for c in responses.calls if c.request.method == "GET"]
    assert [r.headers["Authorization"] for r in downloads] == [f"Bearer {STORAGE_TOKEN}"] * 2
    log = me.logger.text()
    assert "img-1" in log
    assert "storage_type" not in log  # no query strings
    assert base64.b64encode(PNG).decode()[:20] not in log
    assert STORAGE_TOKEN not in log


@responses.activate
def test_public_https_images_are_passed_by_reference() -> None:
    answer(completion())
    url = "https://upload.wikimedia.org/cat.png"
    run({"messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": url}}]}]})
    assert sent_bodies()[0]["messages"][0]["content"][0]["image_url"]["url"] == url
    assert len(responses.calls) == 1


@responses.activate
def test_a_public_file_url_gets_no_storage_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ELASTICIO_OBJECT_STORAGE_URI", STORAGE)
    monkeypatch.setenv("ELASTICIO_OBJECT_STORAGE_TOKEN", STORAGE_TOKEN)
    url = "https://files.example.com/reports/q3.pdf?sig=SECRETSIG"
    responses.add(responses.GET, url, body=PDF, content_type="application/pdf")
    answer(completion())
    me, _ = run({"messages": [{"role": "user", "content": [
        {"type": "file", "file": {"file_url": url}}]}]})
    download = responses.calls[0].request
    assert "Authorization" not in download.headers
    assert sent_bodies()[0]["messages"][0]["content"][0]["file"]["filename"] == "q3.pdf"
    assert "SECRETSIG" not in me.logger.text()


@responses.activate
def test_a_missing_attachment_is_a_clear_error() -> None:
    url = "http://files.example.com/files/missing.pdf"
    responses.add(responses.GET, url, status=404)
    with pytest.raises(AttachmentDownloadError, match=(
            r"^messages\[0\]\.content\[1\]\.file\.file_url: could not download "
            r"http://files\.example\.com/files/missing\.pdf: the server answered HTTP 404")
    ) as caught:
        run({"messages": [{"role": "user", "content": [
            {"type": "text", "text": "x"}, {"type": "file", "file": {"file_url": url}}]}]})
    assert isinstance(caught.value, UserError)
    assert not [c for c in responses.calls if c.request.method == "POST"]


@responses.activate
def test_an_internal_attachment_url_is_refused_before_anything_is_sent() -> None:
    with pytest.raises(AttachmentNotAllowedError) as caught:
        run({"messages": [{"role": "user", "content": [
            {"type": "text", "text": "x"},
            {"type": "file", "file": {"file_url": "http://169.254.169.254/latest/meta-data/"}},
        ]}]})
    assert str(caught.value) == ("messages[0].content[1].file.file_url: this URL may not be "
                                 "downloaded (host not allowed)")
    assert len(responses.calls) == 0


@responses.activate
def test_an_attachment_over_the_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("lib.attachments.inline.MAX_IMAGE_BYTES", 32)
    monkeypatch.setenv("ATTACHMENT_ALLOWED_HOSTS", "10.0.0.0/8")
    url = "http://10.0.0.5/big.png"
    responses.add(responses.GET, url, body=PNG, content_type="image/png")
    with pytest.raises(Exception, match=r"messages\[0\]\.content\[0\].*larger") as caught:
        run({"messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": url}}]}]})
    assert isinstance(caught.value, UserError)


@responses.activate
def test_rebound_when_the_server_asks_for_a_long_wait() -> None:
    responses.add(
        responses.POST, COMPLETIONS_URL, status=429, headers={"retry-after": "600"},
        json=api_error("Rate limit reached for gpt-4o-mini on tokens per min (TPM).",
                       error_type="tokens", code="rate_limit_exceeded"),
    )
    me, result = run({"messages": [{"role": "user", "content": "x"}]})
    assert result is None
    ((event, reason),) = me.emitted
    assert event == "rebound"
    # the short text, never a traceback: the platform shows it as reboundReason
    assert reason.startswith("The server asked to retry after 600 s: Rate limit reached")
    assert reason.endswith("; rebound 1 of 20")
    assert "doubles with each rebound (15 s, 30 s, 60 s, ...)" in me.logger.text()
    assert len(responses.calls) == 1
    sent_bodies()


@responses.activate
def test_wrong_key_is_a_user_error_without_the_key() -> None:
    responses.add(responses.POST, COMPLETIONS_URL, status=401, json=api_error(
        f"Incorrect API key provided: {API_KEY}. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
        error_type="invalid_request_error", code="invalid_api_key"))
    me = FakeSelf()
    with pytest.raises(AuthenticationError) as caught:
        run_process(send_request.process, me,
                    {"body": {"messages": [{"role": "user", "content": "x"}]}}, cfg(), {})
    assert isinstance(caught.value, UserError)
    assert "Incorrect API key" in str(caught.value)
    assert API_KEY not in str(caught.value)
    assert API_KEY not in repr(caught.value)
    assert API_KEY not in me.logger.text()


@responses.activate
def test_quota_is_a_user_error_and_not_retried() -> None:
    responses.add(responses.POST, COMPLETIONS_URL, status=429, json=api_error(
        "You exceeded your current quota, please check your plan and billing details.",
        error_type="insufficient_quota", code="insufficient_quota"))
    with pytest.raises(InsufficientQuotaError) as caught:
        run({"messages": [{"role": "user", "content": "x"}]})
    assert isinstance(caught.value, UserError)
    assert len(responses.calls) == 1


@responses.activate
def test_unsupported_parameter_comes_back_with_a_hint() -> None:
    responses.add(responses.POST, COMPLETIONS_URL, status=400, json=api_error(
        "Unsupported value: 'temperature' does not support 0.2 with this model.",
        error_type="invalid_request_error", code="unsupported_value", param="temperature"))
    with pytest.raises(BadRequestError, match="remove 'temperature'"):
        run({"messages": [{"role": "user", "content": "x"}], "temperature": 0.2},
            cfg(model="gpt-5"))


@responses.activate
def test_streamed_answers_are_emitted_once_in_the_plain_shape() -> None:
    chunks = [
        {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                      "finish_reason": None}]},
        {"choices": [{"index": 0, "delta": {"content": "Hel"}, "finish_reason": None}]},
        {"choices": [{"index": 0, "delta": {"content": "lo"}, "finish_reason": "stop"}]},
        {"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 2,
                                  "total_tokens": 7}},
    ]
    events = ""
    for chunk in chunks:
        chunk.update({"id": "chatcmpl-s1", "object": "chat.completion.chunk",
                      "created": 1741569952, "model": "gpt-4o-mini-2024-07-18"})
        chunk.setdefault("usage", None)
        validate("CreateChatCompletionStreamResponse", chunk)
        events += f"data: {json.dumps(chunk)}\n\n"
    responses.add(responses.POST, COMPLETIONS_URL, body=events + "data: [DONE]\n\n",
                  content_type="text/event-stream")
    me, result = run({"messages": [{"role": "user", "content": "x"}], "stream": True})
    (body,) = sent_bodies()
    assert body["stream_options"] == {"include_usage": True}
    output = result["body"]
    validate("CreateChatCompletionResponse", output)
    assert output["choices"][0]["message"]["content"] == "Hello"
    assert output["usage"]["total_tokens"] == 7
    assert me.emitted == []


# ---- bad configuration and bad input: refused before any request ----------------------


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"apiKey": ""}, "API Key is required"),
    ({"model": None}, "Model is required"),
    ({"requestTimeout": "abc"}, ("Request timeout must be a number of seconds between 1 and 900, "
                                "got 'abc'")),
    ({"requestTimeout": "0"}, "between 1 and 900"),
    ({"requestTimeout": 901}, "between 1 and 900"),
    ({"baseUrl": "api.openai.com"}, "API base URL must be an http(s) URL"),
])
@responses.activate
def test_a_bad_configuration_fails_before_any_request(overrides: dict, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        run({"messages": [{"role": "user", "content": "x"}]}, cfg(**overrides))
    assert expected in str(caught.value)
    assert isinstance(caught.value, UserError)
    assert API_KEY not in str(caught.value)
    assert len(responses.calls) == 0


@pytest.mark.parametrize(("body", "expected"), [
    ({}, "messages is required"),
    ({"messages": []}, "messages must have at least 1 item(s)"),
    ({"messages": "hi"}, "messages must be an array, got string"),
    ({"messages": [{"role": "usr", "content": "x"}]},
     ('messages[0].role must be one of developer, system, user, assistant, tool, function, '
     'got "usr"')),
    ({"messages": [{"content": "x"}]}, "messages[0].role is required"),
    ({"messages": [{"role": "user"}]}, "messages[0].content is required"),
    ({"messages": [{"role": "user", "content": 42}]},
     "messages[0].content must be a string or an array or null, got number"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]},
     "messages[0].content[0].image_url.url is required"),
    ({"messages": [{"role": "user", "content": [{"type": "file", "file": {"filename": "a"}}]}]},
     "messages[0].content[0].file needs one of file_data, file_id, file_url"),
    ({"messages": [{"role": "tool", "content": "x"}]}, "messages[0].tool_call_id is required"),
    ({"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function"}]},
     "tools[0].function is required"),
    ({"messages": [{"role": "user", "content": "x"}],
      "response_format": {"type": "json_schema"}}, "response_format.json_schema is required"),
    ({"messages": [{"role": "user", "content": "x"}], "max_completion_tokens": "many"},
     "max_completion_tokens must be an integer, got string"),
    ({"messages": [{"role": "user", "content": "x"}], "stream": "yes"},
     "stream must be true or false, got string"),
])
@responses.activate
def test_bad_input_names_the_field_and_the_problem(body: dict, expected: str) -> None:
    with pytest.raises(InputValidationError) as caught:
        run(body)
    assert expected in str(caught.value)
    assert isinstance(caught.value, UserError)
    assert len(responses.calls) == 0


def test_all_problems_are_reported_and_long_values_cut() -> None:
    data = "data:image/png;base64," + "A" * 10_000
    body = {"messages": [
        {"role": data, "content": "x"},
        {"role": "user", "content": [{"type": "text"}]},
    ], "n": 0}
    with pytest.raises(InputValidationError) as caught:
        run(body)
    text = str(caught.value)
    assert len(caught.value.problems) == 3
    assert "messages[0].role must be one of" in text
    assert "messages[1].content[0].text is required" in text
    assert "n must be at least 1" in text
    assert len(text) < 400


def test_a_body_that_is_not_an_object() -> None:
    with pytest.raises(InputValidationError, match="must be a JSON object, got array"):
        run([{"role": "user"}])  # type: ignore[arg-type]


@responses.activate
def test_network_failure_is_ours_not_the_users() -> None:
    responses.add(responses.POST, COMPLETIONS_URL, body=requests.ConnectionError("refused"))
    with pytest.raises(Exception) as caught:  # noqa: PT011 - the client's type
        run({"messages": [{"role": "user", "content": "x"}]})
    assert not isinstance(caught.value, UserError)
    assert len(responses.calls) == 3  # retried twice, without sleeping
