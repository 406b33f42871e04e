"""A component that misbehaves cannot freeze a step, leak its cfg into the logs, publish
what the next step cannot parse, or lose an error by its size; a component that cannot
be loaded is reported under the name of the loader's error. On the real broker."""

from __future__ import annotations

import json
from typing import Any

import pytest
from elasticio_sailor.error_payload import MAX_FIELD_CHARS

from tests.support.platform_sim import DEFAULT_STEP_DATA, MISBEHAVING_COMPONENT

pytestmark = pytest.mark.broker

PROCESS_FAILED = "Error occurred during trigger or action processing"


def strict_json(text: str | bytes) -> Any:
    """Parse as a JavaScript ``JSON.parse`` would: ``NaN`` and ``Infinity`` are errors."""

    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize(
    ("function", "raised"),
    [
        ("raises_base_exception", "CancelledError"),
        ("raises_base_exception", "GeneratorExit"),
        ("raises_base_exception", "StopIteration"),  # asyncio's futures refuse to carry it
        ("raises_base_exception_async", "CancelledError"),
        ("raises_base_exception_async", "GeneratorExit"),
    ],
)
def test_any_exception_class_ends_its_message_as_an_error(
    sim, function: str, raised: str,
) -> None:
    """Two such messages with prefetch 2 used to block the step for good; now each is
    an error, and the good message behind them is processed."""
    sim.publish_input({"body": {"raise": raised}})
    sim.publish_input({"body": {"raise": raised}})
    sim.publish_input({"body": {}})
    run = sim.start_sailor(function, cwd=MISBEHAVING_COMPONENT,
                           ELASTICIO_RABBITMQ_PREFETCH_SAILOR="2")
    sim.wait_published(3)
    assert sim.wait_until(lambda: sim.rejected_count() == 2)
    assert run.stop() == 0
    errors = [p.envelope()["error"] for p in sim.published_to("error")]
    assert [(e["name"], e["message"]) for e in errors] == [(raised, "raised by the component")] * 2
    [data] = sim.published_to("data")
    assert data.decoded()["body"] == {"ok": True}
    assert sim.input_depth() == 0
    assert run.messages().count(PROCESS_FAILED) == 2


def test_an_init_hook_raising_any_exception_class_is_a_start_up_failure(sim) -> None:
    run = sim.start_sailor("init_raises_base_exception", cwd=MISBEHAVING_COMPONENT,
                           wait_ready=False)
    assert run.wait() == 1
    [report] = sim.wait_published(1)
    assert report.envelope()["error"]["name"] == "GeneratorExit"
    assert report.envelope()["error"]["message"] == "raised by init"
    assert "Start-up failed" in run.messages()


def test_cfg_secrets_never_reach_the_log(sim) -> None:
    """The step's cfg is logged and quoted in an exception by the component."""
    secret = DEFAULT_STEP_DATA["config"]["apiKey"]
    sim.publish_input({"body": {}})
    run = sim.start_sailor("leaks_cfg", cwd=MISBEHAVING_COMPONENT)
    sim.wait_published(1)
    assert run.stop() == 0
    assert run.wait_logged("the key is ***")
    assert secret not in run.output()


def test_refreshed_account_keys_never_reach_the_log(sim) -> None:
    token = "refreshed-token-SECRET"
    sim.publish_input({"body": {"token": token}})
    run = sim.start_sailor("refreshes_keys", cwd=MISBEHAVING_COMPONENT)
    assert sim.wait_until(lambda: sim.input_depth() == 0 and sim.rejected_count() == 0)
    assert run.wait_logged('new keys: {"oauth":{"access_token":"***"}}')
    assert run.stop() == 0
    [put] = [r for r in sim.api.requests if r.method == "PUT"]
    assert put.json() == {"keys": {"oauth": {"access_token": token}}}
    assert token not in run.output()


def test_non_finite_numbers_are_published_as_null(sim) -> None:
    sim.publish_input({"body": {}})
    sim.publish_input({"body": {"fail": True}})
    run = sim.start_sailor("returns_non_finite", cwd=MISBEHAVING_COMPONENT)
    sim.wait_published(4)  # snapshot + data, snapshot + error
    assert run.stop() == 0
    [data] = sim.published_to("data")
    assert strict_json(sim.cipher.decode_frame(data.body, 1))["body"] == {
        "nan": None, "inf": None, "minus_inf": None, "list": [None, 1.5]}
    snapshots = sim.published_to("snapshot")
    assert [strict_json(s.body) for s in snapshots] == [{"at": None}] * 2
    [error] = sim.published_to("error")
    assert strict_json(error.body)  # the envelope, and what it carries:
    assert strict_json(sim.cipher.decrypt_b64(json.loads(error.body)["error"]))


def test_a_huge_error_is_cut_and_still_published(sim) -> None:
    size = 20 * 1024 * 1024
    sim.publish_input({"body": {"size": size}})
    run = sim.start_sailor("huge_error", cwd=MISBEHAVING_COMPONENT)
    [error] = sim.wait_published(1, timeout=30)
    assert sim.wait_until(lambda: sim.rejected_count() == 1)
    assert run.stop() == 0
    payload = error.envelope()["error"]
    assert payload["name"] == "RuntimeError"
    note = f"... [cut by the sailor: {size} characters in all]"
    assert payload["message"] == "x" * MAX_FIELD_CHARS + note
    assert len(payload["stack"]) < MAX_FIELD_CHARS + 100
    assert payload["stack"].startswith("Traceback (most recent call last):")
    assert len(error.body) < 1024 * 1024


@pytest.mark.parametrize(
    ("function", "name", "message_start"),
    [
        ("syntax_error", "SyntaxError", (
            "Trigger or action 'syntax_error' is found, but can not be loaded. Please check "
            "if the file './lib/actions/syntax_error.py' is correct.")),
        ("import_error", "ModuleNotFoundError", "Trigger or action 'import_error' is found"),
        ("missing_file", "FileNotFoundError",
         "Failed to load file './lib/actions/does_not_exist.py': Cannot find module '"),
    ],
)
def test_a_component_that_cannot_be_loaded_reports_the_loaders_error(
    sim, function: str, name: str, message_start: str,
) -> None:
    sim.publish_input({"body": {}})
    run = sim.start_sailor(function, cwd=MISBEHAVING_COMPONENT, wait_ready=False)
    assert run.wait() == 1
    [report] = sim.wait_published(1)
    error = report.envelope()["error"]
    assert error["name"] == name
    assert error["message"].startswith(message_start)
    assert sim.input_depth() == 1  # the input is untouched


