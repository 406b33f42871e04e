"""Service mode through the CLI, against a local platform/result server
(docs/protocol.md#service-mode)."""

from __future__ import annotations

import json

import pytest
from elasticio_sailor.error_payload import MAX_FIELD_CHARS
from elasticio_sailor.service import error_message

from tests.support.recording_server import COMPONENTS, log_records, run_cli

API_KEY = "ref-api-key-SECRET"


def service_env(platform, **overrides: str | None) -> dict[str, str]:
    env = {
        "ELASTICIO_CFG": json.dumps({"apiKey": "good-key"}),
        "ELASTICIO_API_URI": platform.url,
        "ELASTICIO_API_USERNAME": "ref-user@example.com",
        "ELASTICIO_API_KEY": API_KEY,
        "LOG_LEVEL": "info",
        "ELASTICIO_POST_RESULT_URL": f"{platform.url}/result",
    }
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def run_service(platform, method: str, component: str = "service_basic", **overrides):
    env = service_env(platform, **overrides)
    return run_cli(["service", method], env, COMPONENTS / component)


def posted_result(platform) -> dict:
    posts = [r for r in platform.requests if r.method == "POST"]
    assert len(posts) == 1, platform.requests
    assert posts[0].headers["content-type"] == "application/json"
    return posts[0].json()


def test_verifier_that_returns_normally_verifies(platform):
    done = run_service(platform, "verifyCredentials")
    assert done.returncode == 0, done.stdout + done.stderr
    assert posted_result(platform) == {"status": "success", "data": {"verified": True}}


def test_verifier_that_raises_is_a_successful_result_with_reason(platform):
    done = run_service(platform, "verifyCredentials", ELASTICIO_CFG='{"apiKey": "bad-key"}')
    assert done.returncode == 0
    assert posted_result(platform) == {
        "status": "success",
        "data": {"verified": False, "reason": "Invalid API key"},
    }


def test_verifier_that_raises_any_exception_class_does_not_verify(platform):
    done = run_service(platform, "verifyCredentials", ELASTICIO_CFG='{"apiKey": "exit-key"}')
    assert done.returncode == 0
    assert posted_result(platform) == {
        "status": "success",
        "data": {"verified": False, "reason": "sys.exit() in the verifier"},
    }


def test_verifier_that_returns_nothing_verifies(platform):
    done = run_service(platform, "verifyCredentials", ELASTICIO_CFG='{"apiKey": "other"}')
    assert done.returncode == 0
    assert posted_result(platform) == {"status": "success", "data": {"verified": True}}


def test_missing_verifier_file_verifies(platform):
    done = run_service(platform, "verifyCredentials", component="service_noverifier")
    assert done.returncode == 0
    assert posted_result(platform) == {"status": "success", "data": {"verified": True}}


def test_verifier_that_fails_to_import_is_an_error_result(platform):
    done = run_service(platform, "verifyCredentials", component="loader_broken_verifier")
    assert done.returncode == 0
    result = posted_result(platform)
    assert result["status"] == "error"
    assert "no_such_dependency_xyz" in result["data"]["message"]


@pytest.mark.parametrize("action", ["echo", "asyncEcho"])
def test_get_meta_model_result_is_posted(platform, action):
    done = run_service(platform, "getMetaModel", ELASTICIO_ACTION_OR_TRIGGER=action)
    assert done.returncode == 0, done.stdout + done.stderr
    result = posted_result(platform)
    assert result["status"] == "success"
    assert set(result["data"]) >= {"in", "out"}
    if action == "echo":
        assert result["data"]["seenCfgKeys"] == ["apiKey"]
        assert result["data"]["in"]["properties"]["prompt"]["required"] is True


def test_select_model_calls_the_named_function(platform):
    done = run_service(
        platform,
        "selectModel",
        ELASTICIO_ACTION_OR_TRIGGER="echo",
        ELASTICIO_GET_MODEL_METHOD="listModels",
    )
    assert done.returncode == 0
    assert posted_result(platform) == {
        "status": "success",
        "data": {"gpt-4o-mini": "GPT-4o mini", "gpt-4o": "GPT-4o"},
    }


@pytest.mark.parametrize(
    ("action", "method", "message"),
    [
        ("echo", "listModelsFails", "Model listing failed on purpose"),
        ("asyncEcho", "listModelsFails", "Async listing failed on purpose"),
        ("echo", "listModelsExits", "sys.exit() in a service function"),  # any class
        ("echo", "noSuchMethod", 'Method "noSuchMethod" is not found in "echo" action or trigger'),
        ("nope", "listModels", 'Trigger or action "nope" is not found in component.json!'),
    ],
)
def test_select_model_failures_are_error_results(platform, action, method, message):
    done = run_service(
        platform,
        "selectModel",
        ELASTICIO_ACTION_OR_TRIGGER=action,
        ELASTICIO_GET_MODEL_METHOD=method,
    )
    assert done.returncode == 0
    assert posted_result(platform) == {"status": "error", "data": {"message": message}}


@pytest.mark.parametrize(
    ("action", "data", "token"),
    [("echo", {"a": "A"}, "refreshed-token"), ("asyncEcho", {"b": "B"}, "async-token")],
)
def test_update_keys_is_put_before_the_result(platform, action, data, token):
    done = run_service(
        platform,
        "selectModel",
        ELASTICIO_CFG='{"apiKey": "good-key", "_account": "acc-77"}',
        ELASTICIO_ACTION_OR_TRIGGER=action,
        ELASTICIO_GET_MODEL_METHOD="listModelsWithKeys",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    put, post = platform.requests
    assert (put.method, put.path) == ("PUT", "/v1/accounts/acc-77")
    assert put.json() == {"keys": {"oauth": {"access_token": token}}}
    assert put.basic_auth() == f"ref-user@example.com:{API_KEY}"
    assert (post.method, post.path) == ("POST", "/result")
    assert post.json() == {"status": "success", "data": data}


def test_failed_update_keys_is_only_logged(platform):
    platform.answer("PUT", "/v1/accounts/acc-77", (400, {"error": "bad keys"}))
    done = run_service(
        platform,
        "selectModel",
        ELASTICIO_CFG='{"apiKey": "good-key", "_account": "acc-77"}',
        ELASTICIO_ACTION_OR_TRIGGER="echo",
        ELASTICIO_GET_MODEL_METHOD="listModelsWithKeys",
    )
    assert done.returncode == 0
    assert posted_result(platform) == {"status": "success", "data": {"a": "A"}}
    assert any(r["level"] == 50 for r in log_records(done.stdout))


def test_unparsable_cfg_is_an_error_result(platform):
    done = run_service(platform, "verifyCredentials", ELASTICIO_CFG="not json")
    assert done.returncode == 0
    assert posted_result(platform) == {
        "status": "error",
        "data": {"message": "Unable to parse CFG"},
    }


@pytest.mark.parametrize(
    ("method", "overrides", "message"),
    [
        ("doSomething", {}, 'Unknown service method "doSomething"'),
        ("verifyCredentials", {"ELASTICIO_CFG": None}, "ELASTICIO_CFG is not provided"),
        ("verifyCredentials", {"ELASTICIO_API_KEY": ""}, "ELASTICIO_API_KEY is not provided"),
        ("getMetaModel", {}, "ELASTICIO_ACTION_OR_TRIGGER is not provided"),
        (
            "selectModel",
            {"ELASTICIO_ACTION_OR_TRIGGER": "echo"},
            "ELASTICIO_GET_MODEL_METHOD is not provided",
        ),
    ],
)
def test_validation_errors_become_error_results(platform, method, overrides, message):
    done = run_service(platform, method, **overrides)
    assert done.returncode == 0
    assert posted_result(platform) == {"status": "error", "data": {"message": message}}


def test_credentials_in_result_url_become_basic_auth(platform):
    url = platform.url.replace("http://", "http://svc-user:p%40ss@") + "/result/S1"
    done = run_service(platform, "verifyCredentials", ELASTICIO_POST_RESULT_URL=url)
    assert done.returncode == 0
    (post,) = platform.requests
    assert post.path == "/result/S1"
    assert post.basic_auth() == "svc-user:p@ss"
    assert post.headers["connection"].lower() == "keep-alive"
    assert "p%40ss" not in done.stdout + done.stderr


def test_result_url_answering_201_exits_1(platform):
    platform.answer("POST", "/result", (201, {}))
    done = run_service(platform, "verifyCredentials")
    assert done.returncode == 1
    (fatal,) = [r for r in log_records(done.stdout) if r["level"] == 60]
    assert fatal["msg"].startswith(f"Failed to POST data to {platform.url}/result (201, ")


def test_no_result_url_exits_1_without_post(platform):
    done = run_service(platform, "verifyCredentials", ELASTICIO_POST_RESULT_URL=None)
    assert done.returncode == 1
    assert platform.requests == []
    assert any(
        r["level"] == 60 and r["msg"] == "ELASTICIO_POST_RESULT_URL is not provided"
        for r in log_records(done.stdout)
    )


def test_result_post_is_retried_only_when_configured(platform):
    platform.answer("POST", "/result", (500, {}), (500, {}), (200, {}))
    done = run_service(
        platform,
        "verifyCredentials",
        ELASTICIO_API_REQUEST_RETRY_ATTEMPTS="3",
        ELASTICIO_API_REQUEST_RETRY_DELAY="10",
    )
    assert done.returncode == 0
    assert len(platform.requests) == 3


def test_result_post_single_attempt_by_default(platform):
    platform.answer("POST", "/result", (500, {}), (200, {}))
    done = run_service(platform, "verifyCredentials")
    assert done.returncode == 1
    assert len(platform.requests) == 1


def test_service_output_is_bunyan_json(platform):
    done = run_service(
        platform,
        "getMetaModel",
        ELASTICIO_ACTION_OR_TRIGGER="echo",
        ELASTICIO_FLOW_ID="flow-9",
        LOG_LEVEL="trace",
    )
    assert done.returncode == 0
    records = log_records(done.stdout)
    assert records
    for record in records:
        assert {"name", "hostname", "pid", "level", "msg", "time", "v"} <= set(record)
        assert record["ELASTICIO_FLOW_ID"] == "flow-9"
        assert record["tag"] == "flow-9"
        assert record["ELASTICIO_API_USERNAME"] == "ref-user@example.com"
    component = [r for r in records if r["name"] == "component"]
    assert component[0]["msg"] == "getMetaModel called with 1 cfg keys"


def test_component_path_is_joined_to_the_working_directory(platform):
    env = service_env(
        platform,
        ELASTICIO_COMPONENT_PATH="/service_basic",
        ELASTICIO_ACTION_OR_TRIGGER="echo",
        ELASTICIO_GET_MODEL_METHOD="listModels",
    )
    done = run_cli(["service", "selectModel"], env, COMPONENTS)
    assert done.returncode == 0, done.stdout + done.stderr
    assert posted_result(platform)["status"] == "success"


def test_a_huge_error_message_is_cut_like_a_published_error():
    text = error_message(RuntimeError("x" * (MAX_FIELD_CHARS + 1)))
    assert text == "x" * MAX_FIELD_CHARS + (
        f"... [cut by the sailor: {MAX_FIELD_CHARS + 1} characters in all]")
    assert error_message(RuntimeError()) == "RuntimeError"
