"""What every action does first and last (lib/step.py): the runtime sees only the sailor's
names, whatever the surface raised."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest
from elasticio_sailor import ShutdownInterrupted
from elasticio_sailor.context import Rebounds

from lib import step as steps
from lib.errors import ConfigError, InputValidationError, ReboundError
from lib.openai.errors import CallInterruptedError, RateLimitError, RetryLaterError
from tests.support.action_support import FakeSelf, cfg

SCHEMA = "sendRequest.in.json"
MESSAGE = {"body": {"messages": [{"role": "user", "content": "Hi"}], "model": "gpt-4o"}}


def started(context: FakeSelf | None = None) -> steps.Step:
    return steps.start(context or FakeSelf(), MESSAGE, cfg(), SCHEMA)


def test_start_parses_validates_and_warns_about_another_model() -> None:
    context = FakeSelf()
    step = steps.start(context, MESSAGE, cfg(requestTimeout="12"), SCHEMA)
    assert (step.config.model, step.config.timeout_s) == ("gpt-4o-mini", 12)
    assert step.body == MESSAGE["body"]
    assert "The message names model 'gpt-4o'; the configured model 'gpt-4o-mini' is used" \
        in context.logger.text()


def test_start_checks_the_configuration_before_the_body() -> None:
    with pytest.raises(ConfigError, match="Model is required"):
        steps.start(FakeSelf(), {"body": {}}, cfg(model=""), SCHEMA)
    with pytest.raises(InputValidationError):
        steps.start(FakeSelf(), {"body": {}}, cfg(), SCHEMA)


def test_the_stop_signal_is_the_sailors_event_or_one_nobody_sets() -> None:
    context = FakeSelf()
    assert not started(context).stop.is_set()
    context.shutting_down = threading.Event()  # type: ignore[attr-defined]
    assert started(context).stop is context.shutting_down


def test_a_stopped_call_becomes_the_sailors_shutdown_with_its_text() -> None:
    def work() -> dict:
        raise CallInterruptedError("the step is shutting down; the stream was left")

    with pytest.raises(ShutdownInterrupted, match="the stream was left"):
        steps.finish(started(), work)


def test_a_long_retry_after_rebounds_the_message_instead_of_failing_it() -> None:
    context = FakeSelf()
    later = RetryLaterError(120, RateLimitError("slow down", status=429))

    def work() -> dict:
        raise later

    assert steps.finish(started(context), work) is None
    reason = "The server asked to retry after 120 s: slow down (status 429); rebound 1 of 20"
    assert context.emitted == [("rebound", reason)]
    assert context.logger.lines[-1:] == [("warning", (
        f"{reason}. The platform delivers the message again in 15 s, not when the server "
        "asked: its rebound delay starts at 15 s and doubles with each rebound (15 s, 30 s, "
        "60 s, ...), so a wait of 2 min takes about 4 of the 20 rebounds allowed"))]


@pytest.mark.parametrize(("done", "limit", "reason_ends", "note_has"), [
    (2, 20, "; rebound 3 of 20", "again in 60 s"),
    (2, 20, "; rebound 3 of 20", "takes about 2 of the 20 rebounds"),  # 60 s + 120 s
    (2, 3, "; rebound 3 of 3", "takes about 1 of the 3 rebounds"),  # no more to count
    (3, 3, "; over the platform's limit of 3 rebounds",
     "limit of 3 rebounds is reached: the message fails with 'Rebound limit exceeded'"),
    (9, 20, "; rebound 10 of 20", "again in 2.1 h"),
])
def test_rebounds_are_counted_against_the_platforms_limit(
        done: int, limit: int, reason_ends: str, note_has: str) -> None:
    context = FakeSelf()
    context.rebounds = Rebounds(done=done, limit=limit)  # type: ignore[attr-defined]
    later = RetryLaterError(120, RateLimitError("slow down", status=429))
    steps.rebound_later(context, later)
    ((_, reason),) = context.emitted
    assert reason.endswith(reason_ends)
    assert note_has in context.logger.text()


def test_a_huge_wait_is_counted_in_a_bounded_number_of_rebounds() -> None:
    reason, note = steps.rebound_texts(
        "x", 1e300, Rebounds(done=0, limit=10**9, first_delay_ms=1))
    assert reason.endswith("; rebound 1 of 1000000000")
    assert f"takes about {steps.MAX_COUNTED_REBOUNDS + 1} of the" in note


def test_a_message_the_step_cannot_take_now_is_rebounded_and_counted_too() -> None:
    context = FakeSelf()
    context.rebounds = Rebounds(done=1)  # type: ignore[attr-defined]

    def work() -> dict:
        raise ReboundError("The step keeps 32 background responses already")

    assert steps.finish(started(context), work) is None
    reason = "The step keeps 32 background responses already; rebound 2 of 20"
    assert context.emitted == [("rebound", reason)]
    assert context.logger.lines[-1] == ("warning", (
        f"{reason}. The platform delivers the message again in 30 s: its rebound delay "
        "starts at 15 s and doubles with each rebound (15 s, 30 s, 60 s, ...)"))


@pytest.mark.parametrize(("seconds", "text"), [
    (15, "15 s"), (119.99, "120 s"), (120, "2 min"), (90 * 60, "90 min"), (9000, "2.5 h"),
    (7_864_320, "91 days")])
def test_waits_read_as_people_read_them(seconds: float, text: str) -> None:
    assert steps.duration(seconds) == text


def test_the_output_of_the_work_is_returned_unchanged() -> None:
    assert steps.finish(started(), lambda: {"body": {"ok": True}}) == {"body": {"ok": True}}


def test_downloads_of_a_streamed_file_cover_every_attempt_at_the_calls_pace(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ATTACHMENT_DOWNLOAD_DEADLINE_S", raising=False)
    step = steps.start(FakeSelf(), MESSAGE, cfg(requestTimeout="120"), SCHEMA)
    inline = step.downloads()
    streamed = step.downloads(streamed_limit=25 * 2**20)
    assert (inline.max_total_bytes, inline.deadline_s) == (50 * 2**20, 120)
    assert streamed.max_total_bytes == 3 * 25 * 2**20  # the first attempt and two retries
    assert streamed.deadline_s == 1200  # the call's total deadline: 10 x 120 s


def test_the_init_hook_compiles_the_schema_once_however_many_first_messages_ask(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A first wave of messages arrives at once: one thread compiles, the others wait for it
    (each compiling its own copy tripled the CPU of a first wave of 50)."""
    from jsonschema import Draft202012Validator

    from lib import validation

    monkeypatch.setattr(validation, "_validators", {})
    checks: list[str] = []
    real_check = Draft202012Validator.check_schema

    def counted_check(schema: object) -> None:
        checks.append("check")
        real_check(schema)

    monkeypatch.setattr(Draft202012Validator, "check_schema", staticmethod(counted_check))
    start = threading.Barrier(8)

    def first_message() -> None:
        start.wait()
        steps.start(FakeSelf(), MESSAGE, cfg(), SCHEMA)

    threads = [threading.Thread(target=first_message) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert checks == ["check"]
    steps.init_hook(SCHEMA)({"model": "ignored"})
    assert checks == ["check"]


def test_the_init_hook_compiles_before_any_message(monkeypatch: pytest.MonkeyPatch) -> None:
    from lib import validation

    monkeypatch.setattr(validation, "_validators", {})
    steps.init_hook(SCHEMA)({})
    assert set(validation._validators) == {SCHEMA}


INIT_IMPORTS = """
import sys
from lib.actions import {action}
assert "aiohttp" not in sys.modules
{action}.init({{}})
print("aiohttp" in sys.modules)
"""


@pytest.mark.parametrize(("action", "imported"), [
    ("send_request", True), ("create_response", True), ("create_embeddings", False)])
def test_the_init_hook_of_an_action_on_the_loop_imports_its_transport(
        action: str, imported: bool) -> None:
    done = subprocess.run([sys.executable, "-c", INIT_IMPORTS.format(action=action)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(imported)
