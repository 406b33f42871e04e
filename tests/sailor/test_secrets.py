"""No secret in any output line, at trace level (docs/protocol.md#secrets)."""

from __future__ import annotations

import json

import pytest

from tests.support.recording_server import COMPONENTS, run_cli

MARKER = "PLANTED-MARKER"


def secret_env(platform, **overrides: str) -> dict[str, str]:
    cfg = {
        "apiKey": f"cfg-api-key-{MARKER}",
        "organization": f"cfg-org-{MARKER}",
        "_account": "acc-1",
        "nested": {"token": f"cfg-token-{MARKER}"},
    }
    result_url = platform.url.replace("http://", f"http://svc:pw-{MARKER}@") + "/result"
    env = {
        "ELASTICIO_CFG": json.dumps(cfg),
        "ELASTICIO_API_URI": platform.url,
        "ELASTICIO_API_USERNAME": "user@example.com",
        "ELASTICIO_API_KEY": f"api-key-{MARKER}",
        "ELASTICIO_MESSAGE_CRYPTO_PASSWORD": f"crypto-{MARKER}",
        "ELASTICIO_AMQP_URI": f"amqp://guest:amqp-{MARKER}@127.0.0.1:5672/",
        "ELASTICIO_OBJECT_STORAGE_TOKEN": f"maester-{MARKER}",
        "ELASTICIO_POST_RESULT_URL": result_url,
        "ELASTICIO_FLOW_ID": "flow-1",
        "LOG_LEVEL": "trace",
    }
    env.update(overrides)
    return env


@pytest.mark.parametrize(
    ("method", "overrides"),
    [
        ("verifyCredentials", {}),
        ("getMetaModel", {"ELASTICIO_ACTION_OR_TRIGGER": "echo"}),
        (
            "selectModel",
            {
                "ELASTICIO_ACTION_OR_TRIGGER": "echo",
                "ELASTICIO_GET_MODEL_METHOD": "listModelsFails",
            },
        ),
        (
            "selectModel",
            {
                "ELASTICIO_ACTION_OR_TRIGGER": "echo",
                "ELASTICIO_GET_MODEL_METHOD": "listModelsWithKeys",
            },
        ),
    ],
)
def test_service_mode_logs_no_secret(platform, method, overrides):
    platform.answer("PUT", "/v1/accounts/acc-1", (500, {"error": "down"}))
    platform.answer("POST", "/result", (503, {"error": "busy"}))
    env = secret_env(platform, **overrides)
    done = run_cli(["service", method], env, COMPONENTS / "service_basic")
    output = done.stdout + done.stderr
    assert done.returncode == 1  # the result URL keeps failing: a fatal line is logged
    assert output.strip()
    assert MARKER not in output
    assert "pw-" not in output
