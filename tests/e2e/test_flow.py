"""The real component on our sailor, in task mode on RabbitMQ and in service mode.

An upstream step (the platform simulator) publishes encrypted messages; our step runs
``python -m elasticio_sailor run`` from the repository root with the real
``component.json``; an OpenAI stand-in on 127.0.0.1 checks every request against the
official OpenAPI document. The test decrypts and checks what our step publishes.
"""

from __future__ import annotations

import json

import pytest

from tests.e2e.flows import step_in_flow
from tests.support.openai_standin import OpenAIStandIn, Reply, completion, rate_limited
from tests.support.openapi_contract import validate
from tests.support.platform_sim import PlatformSim
from tests.support.recording_server import run_cli

API_KEY = "sk-e2e-SECRET-key"
MODEL = "gpt-4o-mini"


@pytest.fixture
def openai():
    with OpenAIStandIn(api_key=API_KEY, validator=validate) as standin:
        yield standin
        assert standin.violations == [], "a request broke the OpenAPI contract"


def step_config(openai: OpenAIStandIn, **extra) -> dict:
    return {"apiKey": API_KEY, "baseUrl": openai.url, "model": MODEL, **extra}


@pytest.fixture
def flow(broker, openai, repo_root):
    """Our step (sendRequest) in a simulated flow; yields (sim, start)."""
    step_data = {"config": step_config(openai), "snapshot": {}}
    with step_in_flow(broker.url, repo_root, "sendRequest", step_data, API_KEY) as flow:
        yield flow


pytestmark = [pytest.mark.broker, pytest.mark.timeout(120)]


def only_data(sim: PlatformSim, count: int = 1) -> list[dict]:
    published = sim.wait_published(count, timeout=30)
    data = sim.published_to("data")
    assert len(data) == count, [p.routing_key for p in published]
    assert sim.published_to("error") == []
    return [d.decoded() for d in data]


def test_plain_request_flows_through(flow, openai):
    sim, start = flow
    sent = sim.publish_input({"body": {"messages": [{"role": "user", "content": "Hello"}]}})
    start()
    [message] = only_data(sim)
    answer = message["body"]
    validate("CreateChatCompletionResponse", answer)
    assert answer["choices"][0]["message"]["content"] == "You said: Hello"
    [request] = openai.chat_requests()
    assert request.body["model"] == MODEL
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    [data] = sim.published_to("data")
    assert data.headers["parentMessageId"] == sent["messageId"]
    assert data.headers["threadId"] == sent["threadId"]
    assert sim.wait_until(lambda: sim.input_depth() == 0)
    assert sim.rejected_count() == 0


def test_json_mode_answer_carries_parsed(flow, openai):
    sim, start = flow
    sim.publish_input({"body": {
        "messages": [{"role": "system", "content": "Answer in JSON."},
                     {"role": "user", "content": "colour of the sky"}],
        "response_format": {"type": "json_object"},
    }})
    start()
    [message] = only_data(sim)
    choice = message["body"]["choices"][0]["message"]
    assert choice["parsed"] == {"answer": "colour of the sky"}
    assert json.loads(choice["content"]) == choice["parsed"]


def test_tool_call_is_passed_on(flow, openai):
    sim, start = flow
    call = {"id": "call_1", "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city":"Berlin"}'}}
    openai.script(Reply(json=completion(MODEL, None, tool_calls=[call],
                                        finish_reason="tool_calls")))
    sim.publish_input({"body": {
        "messages": [{"role": "user", "content": "Weather in Berlin?"}],
        "tools": [{"type": "function", "function": {
            "name": "get_weather", "parameters": {
                "type": "object", "properties": {"city": {"type": "string"}}}}}],
        "tool_choice": "auto",
    }})
    start()
    [message] = only_data(sim)
    choice = message["body"]["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["tool_calls"] == [call]
    assert openai.chat_requests()[0].body["tools"][0]["function"]["name"] == "get_weather"


def test_streamed_answer_is_emitted_once_whole(flow, openai):
    sim, start = flow
    sim.publish_input({"body": {"messages": [{"role": "user", "content": "Stream me"}],
                                "stream": True}})
    start()
    [message] = only_data(sim)
    answer = message["body"]
    assert answer["object"] == "chat.completion"
    assert answer["choices"][0]["message"]["content"] == "You said: Stream me"
    assert answer["usage"]["total_tokens"] == 16
    assert openai.chat_requests()[0].body["stream"] is True


def test_burst_of_rate_limits_ends_in_success(flow, openai):
    sim, start = flow
    openai.script(rate_limited(1), rate_limited(1))
    sim.publish_input({"body": {"messages": [{"role": "user", "content": "Patience"}]}})
    start()
    [message] = only_data(sim)
    assert message["body"]["choices"][0]["message"]["content"] == "You said: Patience"
    assert len(openai.chat_requests()) == 3
    assert sim.published_to("rebound") == []


def test_long_retry_after_rebounds_the_message(flow, openai):
    sim, start = flow
    openai.script(rate_limited(600))
    sent = sim.publish_input({"body": {"messages": [{"role": "user", "content": "Later"}]}})
    start(ELASTICIO_REBOUND_INITIAL_EXPIRATION="2000")
    sim.wait_published(1, timeout=30)
    [rebound] = sim.published_to("rebound")
    assert rebound.properties.expiration == "2000"
    assert rebound.headers["reboundIteration"] == 1
    assert rebound.headers["reboundReason"].startswith(
        "The server asked to retry after 600 s: ")
    assert rebound.headers["reboundReason"].endswith("; rebound 1 of 20")
    assert "Traceback" not in rebound.headers["reboundReason"]
    assert rebound.headers["messageId"] == sent["messageId"]
    assert rebound.decoded() == {"body": {"messages": [{"role": "user", "content": "Later"}]}}
    assert sim.published_to("data") == []
    assert sim.published_to("error") == []
    assert len(openai.chat_requests()) == 1
    assert sim.wait_until(lambda: sim.input_depth() == 0)
    assert sim.rejected_count() == 0


def test_a_rebounded_message_counts_its_rebounds_against_the_limit(flow, openai):
    sim, start = flow
    openai.script(rate_limited(600))
    sim.publish_input({"body": {"messages": [{"role": "user", "content": "Later"}]}},
                      reboundIteration=2)
    start(ELASTICIO_REBOUND_INITIAL_EXPIRATION="2000", ELASTICIO_REBOUND_LIMIT="5")
    sim.wait_published(1, timeout=30)
    [rebound] = sim.published_to("rebound")
    assert rebound.headers["reboundIteration"] == 3
    assert rebound.properties.expiration == "8000"
    assert rebound.headers["reboundReason"].endswith("; rebound 3 of 5")


def test_invalid_input_is_an_error_naming_the_field_and_is_rejected(flow, openai):
    sim, start = flow
    bad = {"body": {"messages": [{"role": "user"}]}}
    sim.publish_input(bad)
    start()
    sim.wait_published(1, timeout=30)
    [error] = sim.published_to("error")
    envelope = error.envelope()
    assert "messages[0]" in envelope["error"]["message"]
    assert "content" in envelope["error"]["message"]
    assert envelope["errorInput"] == bad
    assert sim.wait_until(lambda: sim.rejected_count() == 1)
    assert sim.published_to("data") == []
    assert openai.chat_requests() == []


def run_service(platform, repo_root, method: str, cfg: dict, **env) -> dict:
    done = run_cli(["service", method], {
        "ELASTICIO_CFG": json.dumps(cfg),
        "ELASTICIO_API_URI": platform.url,
        "ELASTICIO_API_USERNAME": "user@example.com",
        "ELASTICIO_API_KEY": "platform-key",
        "ELASTICIO_POST_RESULT_URL": f"{platform.url}/result",
        **env,
    }, repo_root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert API_KEY not in done.stdout + done.stderr
    [post] = [r for r in platform.requests if r.method == "POST"]
    return post.json()


def test_service_select_model_lists_chat_models(platform, openai, repo_root):
    result = run_service(platform, repo_root, "selectModel",
                         {"apiKey": API_KEY, "baseUrl": openai.url},
                         ELASTICIO_ACTION_OR_TRIGGER="sendRequest",
                         ELASTICIO_GET_MODEL_METHOD="getModels")
    assert result["status"] == "success"
    assert set(result["data"]) == set(openai.models), "a non-OpenAI base URL keeps every model"


def test_service_verify_credentials_good_and_bad_key(platform, openai, repo_root):
    good = run_service(platform, repo_root, "verifyCredentials",
                       {"apiKey": API_KEY, "baseUrl": openai.url})
    assert good == {"status": "success", "data": {"verified": True}}
    platform.requests.clear()
    bad = run_service(platform, repo_root, "verifyCredentials",
                      {"apiKey": "sk-wrong", "baseUrl": openai.url})
    assert bad["status"] == "success"
    assert bad["data"]["verified"] is False
    assert "Incorrect API key" in bad["data"]["reason"]
    assert "sk-wrong" not in bad["data"]["reason"]
