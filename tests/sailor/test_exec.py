"""The local runner: `python -m elasticio_sailor exec`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from tests.support.recording_server import COMPONENTS, log_records, run_cli

COMPONENT = COMPONENTS / "exec_basic"


def run_exec(*args: str, env: dict[str, str] | None = None, stdin: str | None = None):
    return run_cli(["exec", *args], env or {}, COMPONENT, stdin=stdin)


def events(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_returned_message_is_data_then_end(tmp_path):
    msg = tmp_path / "msg.json"
    msg.write_text(json.dumps({"id": "in-1", "body": {"text": "hi"}}))
    snapshot = tmp_path / "snapshot.json"
    snapshot.write_text('{"counter": 5}')
    done = run_exec(
        "echo", "--msg", str(msg), "--cfg", '{"apiKey": "abc"}', "--snapshot", str(snapshot)
    )
    assert done.returncode == 0, done.stderr
    data, end = events(done.stdout)
    assert data == {
        "event": "data",
        "payload": {
            "id": "out-1",
            "body": {"echo": "HI", "keyLength": 3, "snapshot": {"counter": 5}, "msgId": "in-1"},
            "headers": {},
            "attachments": {},
        },
    }
    assert end == {"event": "end"}
    component_logs = [r for r in log_records(done.stderr) if r.get("name") == "component"]
    assert component_logs[0]["msg"] == "echo called"


def test_message_from_stdin_and_cfg_from_file(tmp_path):
    cfg = tmp_path / "cfg.json"
    cfg.write_text('{"apiKey": "abcd"}')
    done = run_exec("echo", "--msg", "-", "--cfg", str(cfg), stdin='{"body": {"text": "x"}}')
    assert done.returncode == 0, done.stderr
    assert events(done.stdout)[0]["payload"]["body"]["keyLength"] == 4


def test_cfg_values_from_the_environment_are_never_printed():
    secret = "sk-test-SECRET-from-env"
    done = run_exec(
        "echo",
        "--cfg",
        '{"apiKey": "env:TEST_OPENAI_KEY"}',
        env={"TEST_OPENAI_KEY": secret, "LOG_LEVEL": "trace"},
    )
    assert done.returncode == 0, done.stderr
    assert events(done.stdout)[0]["payload"]["body"]["keyLength"] == len(secret)
    assert secret not in done.stdout + done.stderr


def test_missing_environment_variable_is_a_usage_error():
    done = run_exec("echo", "--cfg", '{"apiKey": "env:NOT_SET_ANYWHERE"}')
    assert done.returncode == 2
    assert "NOT_SET_ANYWHERE" in done.stderr
    assert done.stdout == ""


def test_every_event_is_printed_in_order():
    done = run_exec("emitAll")
    assert done.returncode == 0, done.stderr
    printed = events(done.stdout)
    assert [e["event"] for e in printed] == [
        "data",
        "snapshot",
        "updateSnapshot",
        "updateKeys",
        "rebound",
        "httpReply",
        "end",
    ]
    assert printed[1]["payload"] == {"counter": 6}
    assert printed[4]["payload"]["message"] == "try later"


def test_emitted_error_sets_exit_code_and_end_is_printed_once():
    done = run_exec("emitAllSync")
    assert done.returncode == 1
    printed = events(done.stdout)
    assert [e["event"] for e in printed] == ["data", "error", "data", "end"]
    assert printed[1]["payload"]["name"] == "ValueError"
    assert printed[1]["payload"]["message"] == "emitted on purpose"
    assert any("more than once" in r["msg"] for r in log_records(done.stderr))


def test_raised_exception_is_error_then_end():
    done = run_exec("fails")
    assert done.returncode == 1
    error, end = events(done.stdout)
    assert error["payload"]["name"] == "TypeError"
    assert error["payload"]["message"] == "Failure on purpose"
    assert "Traceback" in error["payload"]["stack"]
    assert end == {"event": "end"}


def test_trigger_runs_too():
    done = run_exec("tick")
    assert done.returncode == 0
    assert events(done.stdout)[0]["payload"] == {"body": {"tick": True}}


def test_progress_line_while_waiting():
    done = run_exec("slow", "--progress-interval", "0.3")
    assert done.returncode == 0
    progress = [line for line in done.stderr.splitlines() if line.startswith("exec: still waiting")]
    assert progress
    assert "slow" in progress[0]


def test_select_model_and_meta_model():
    done = run_exec("echo", "--select-model", "getModels")
    assert done.returncode == 0
    assert events(done.stdout) == [{"event": "result", "payload": {"gpt-4o-mini": "GPT-4o mini"}}]
    done = run_exec("echo", "--meta-model")
    assert events(done.stdout)[0]["payload"] == {
        "in": {"type": "object"},
        "out": {"type": "object"},
    }
    done = run_exec("echo", "--select-model", "failingModels")
    assert done.returncode == 1
    assert events(done.stdout)[0]["payload"]["message"] == "Listing failed on purpose"


def test_verify_credentials():
    done = run_exec("--verify-credentials", "--cfg", '{"apiKey": "good"}')
    assert done.returncode == 0
    assert events(done.stdout) == [{"event": "result", "payload": {"verified": True}}]
    done = run_exec("--verify-credentials", "--cfg", '{"apiKey": "bad"}')
    assert done.returncode == 1
    assert events(done.stdout) == [
        {"event": "result", "payload": {"verified": False, "reason": "Invalid API key"}}
    ]


def test_usage_errors_exit_with_two():
    assert run_exec("nope").returncode == 2
    assert "not found in component.json" in run_exec("nope").stderr
    assert run_exec("echo", "--msg", "/does/not/exist.json").returncode == 2
    assert run_exec("echo", "--cfg", "{broken").returncode == 2
    assert run_exec("echo", "--select-model", "missing").returncode == 2
    assert run_exec().returncode == 2


def test_exec_help_names_the_env_prefix():
    done = run_cli(["exec", "--help"], {}, COMPONENT)
    assert done.returncode == 0
    assert "env:NAME" in done.stdout


MISBEHAVING = COMPONENTS / "misbehaving"


def test_exec_prints_non_finite_numbers_as_null():
    done = run_cli(["exec", "returns_non_finite"], {}, MISBEHAVING)
    assert done.returncode == 0, done.stderr
    for line in done.stdout.splitlines():
        json.loads(line, parse_constant=lambda name: pytest.fail(f"{name} printed"))
    snapshot, data, _ = events(done.stdout)
    assert snapshot["payload"] == {"at": None}
    assert data["payload"]["body"] == {"nan": None, "inf": None, "minus_inf": None,
                                       "list": [None, 1.5]}


def test_exec_keeps_cfg_secrets_out_of_the_logs():
    secret = "plain-cfg-key-SECRET"
    done = run_cli(["exec", "leaks_cfg", "--cfg", json.dumps({"apiKey": secret})], {},
                   MISBEHAVING)
    assert done.returncode == 1
    assert "the key is ***" in [r["msg"] for r in log_records(done.stderr)]
    assert secret not in done.stderr


def test_exec_stops_on_sigterm_when_the_function_cooperates():
    process = subprocess.Popen(
        [sys.executable, "-m", "elasticio_sailor", "exec", "waits_for_shutdown"],
        cwd=MISBEHAVING, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={"PATH": os.environ.get("PATH", "")})
    assert process.stderr is not None
    for line in process.stderr:  # wait for the function to run
        if "work started" in line:
            break
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 3
    assert stdout == ""  # nothing emitted, not even `end`
    assert "Processing stopped for the shutdown" in stderr
