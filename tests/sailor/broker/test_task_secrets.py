"""No secret in any output line of task mode, at trace level (docs/protocol.md#secrets);
the other modes are checked in tests/sailor/test_secrets.py."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.support.platform_sim import PlatformSim

pytestmark = pytest.mark.broker

MARKER = "PLANTED-MARKER"


def test_task_mode_logs_no_secret(broker):
    user = f"secret-test-{uuid.uuid4().hex[:8]}"
    broker.ctl("add_user", user, f"amqp-pw-{MARKER}")
    broker.ctl("set_permissions", "-p", "/", user, ".*", ".*", ".*")
    amqp_uri = broker.url.replace("guest:guest@", f"{user}:amqp-pw-{MARKER}@")
    step_data = {
        "config": {
            "apiKey": f"cfg-api-key-{MARKER}",
            "organization": f"cfg-org-{MARKER}",
            "_account": "acc-42",
        },
        "snapshot": {"cursor": f"snapshot-{MARKER}"},
        "variables": {"flowVar": f"flow-variable-{MARKER}"},
    }
    secret_env = {
        "LOG_LEVEL": "trace",
        "ELASTICIO_AMQP_URI": amqp_uri,
        "ELASTICIO_OBJECT_STORAGE_TOKEN": f"maester-{MARKER}",
        "ELASTICIO_API_KEY": f"api-key-{MARKER}",
    }
    outputs = []
    sim = PlatformSim(broker.url, step_data)
    try:
        run = sim.start_sailor("scripted", **secret_env)
        events = [
            ["data", {"body": {"text": f"data-body-{MARKER}"}}],
            ["snapshot", {"cursor": f"new-snapshot-{MARKER}"}],
            ["updateSnapshot", {"seen": f"update-{MARKER}"}],
            ["updateKeys", {"oauth": {"access_token": f"token-{MARKER}"}}],
            ["end"],
        ]
        sim.publish_input({"body": {"emit": events, "secret": f"input-body-{MARKER}"}})
        assert len(sim.wait_published(3)) == 3
        assert sim.wait_until(lambda: any(r.method == "PUT" for r in sim.api.requests))
        assert run.stop() == 0
        outputs.append(run.output())

        run = sim.start_sailor("fail", **secret_env)
        sim.publish_input({"body": {"secret": f"failing-body-{MARKER}"}})
        assert len(sim.wait_published(4)) == 4
        assert run.stop() == 0
        outputs.append(run.output())
    finally:
        sim.close()
    output = "\n".join(outputs)
    assert "Fully initialized and waiting for messages" in output
    assert all(json.loads(line)["v"] == 0 for line in output.splitlines())
    assert MARKER not in output
    assert "SECRET" not in output  # the simulator's crypto password and IV
