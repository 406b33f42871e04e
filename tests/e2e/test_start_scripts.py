"""The image's start scripts, run from the repository as the image runs them.

``sail.sh`` (task mode) and ``serve.sh <method> [args]`` (service mode) sit in the app
root, the image's working directory; the platform runs them with its ``ELASTICIO_*``
environment and ``python`` on PATH. Each must replace itself with the sailor (``exec``),
so that signals reach the sailor and its exit code is the script's.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from pathlib import Path

import pytest
from elasticio_sailor.settings import SERVICE_METHODS

from tests.support.openai_standin import OpenAIStandIn
from tests.support.platform_sim import PlatformSim
from tests.support.recording_server import RecordingServer, run_cli

ROOT = Path(__file__).resolve().parent.parent.parent
SAIL = ROOT / "sail.sh"
SERVE = ROOT / "serve.sh"
API_KEY = "sk-start-script-SECRET"
MODEL = "gpt-4o-mini"


@pytest.fixture
def openai():
    with OpenAIStandIn(api_key=API_KEY) as standin:
        yield standin


# --- the scripts themselves: a stand-in `python` shows what they run -------------------

FAKE_PYTHON = """#!/bin/sh
# Prints its pid, working directory and arguments, then exits with FAKE_EXIT.
printf '%s\\n' "$$" "$(pwd -P)" "$@"
exit "$FAKE_EXIT"
"""


@pytest.mark.parametrize(("script", "mode"), [(SAIL, "run"), (SERVE, "service")])
def test_script_execs_the_sailor_from_the_app_root_with_its_arguments(tmp_path, script, mode):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "python"
    fake.write_text(FAKE_PYTHON)
    fake.chmod(0o755)
    process = subprocess.Popen(
        [str(script), "first", "two words", ""],
        cwd=tmp_path,  # started from elsewhere: the script still runs the app root
        env={"PATH": f"{bin_dir}{os.pathsep}/usr/bin:/bin", "FAKE_EXIT": "7"},
        stdout=subprocess.PIPE, text=True,
    )
    out, _ = process.communicate(timeout=30)
    pid, cwd, *args = out.split("\n")[:-1]
    assert int(pid) == process.pid, "exec: no shell stays between the platform and the sailor"
    assert cwd == str(ROOT)
    assert args == ["-m", "elasticio_sailor", mode, "first", "two words", ""]
    assert process.returncode == 7


def test_image_ships_both_scripts_executable_in_its_working_directory():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^WORKDIR /app$", dockerfile, re.MULTILINE)
    copied = [line.split()[1:] for line in dockerfile.splitlines() if line.startswith("COPY ")]
    [sources] = [line[:-1] for line in copied if "sail.sh" in line]
    assert {"sail.sh", "serve.sh"} <= set(sources)
    assert [line[-1] for line in copied if "sail.sh" in line] == ["./"]
    for script in (SAIL, SERVE):
        assert os.access(script, os.X_OK), f"{script.name} must be executable (git mode 755)"
        assert script.read_text().startswith("#!/bin/sh\n")


# --- task mode: sail.sh against the broker and the platform stand-in -------------------


@pytest.mark.broker
@pytest.mark.timeout(120)
def test_sail_sh_processes_messages_and_sigterm_stops_the_sailor_gracefully(broker, openai):
    sim = PlatformSim(broker.url, step_data={
        "config": {"apiKey": API_KEY, "baseUrl": openai.url, "model": MODEL}, "snapshot": {}})
    try:
        sent = sim.publish_input({"body": {"messages": [{"role": "user", "content": "Hi"}]}})
        run = sim.start_sailor("sendRequest", cwd=ROOT, command=[str(SAIL)])
        sim.wait_published(1, timeout=30)
        [data] = sim.published_to("data")
        assert data.decoded()["body"]["choices"][0]["message"]["content"] == "You said: Hi"
        assert data.headers["parentMessageId"] == sent["messageId"]
        assert sim.wait_until(lambda: sim.input_depth() == 0)

        command_line = Path(f"/proc/{run.process.pid}/cmdline").read_bytes().split(b"\0")
        assert command_line[1:4] == [b"-m", b"elasticio_sailor", b"run"]
        run.terminate(signal.SIGTERM)
        assert run.wait() == 0, run.output()
        messages = [record.get("msg") for record in run.records()]
        assert messages.index("Received SIGTERM") < messages.index("Successfully disconnected")
        assert API_KEY not in run.output()
        assert sim.rejected_count() == 0
    finally:
        sim.close()


def test_sail_sh_passes_its_arguments_and_the_exit_code_on():
    done = run_cli(["--no-such-option"], {}, ROOT, command=[str(SAIL)])
    assert done.returncode == 2
    assert "unrecognized arguments: --no-such-option" in done.stderr


# --- service mode: serve.sh <method> [args] ---------------------------------------------


def service_env(platform: RecordingServer, cfg: dict, **extra: str) -> dict[str, str]:
    return {
        "ELASTICIO_CFG": json.dumps(cfg),
        "ELASTICIO_API_URI": platform.url,
        "ELASTICIO_API_USERNAME": "user@example.com",
        "ELASTICIO_API_KEY": "platform-key",
        "ELASTICIO_POST_RESULT_URL": f"{platform.url}/result",
        **extra,
    }


def posted_result(platform: RecordingServer) -> dict:
    [post] = [r for r in platform.requests if r.method == "POST"]
    assert post.path == "/result"
    return post.json()


def test_serve_sh_verifies_credentials(platform, openai):
    env = service_env(platform, {"apiKey": API_KEY, "baseUrl": openai.url})
    done = run_cli(["verifyCredentials"], env, ROOT, command=[str(SERVE)])
    assert done.returncode == 0, done.stdout + done.stderr
    assert posted_result(platform) == {"status": "success", "data": {"verified": True}}
    assert API_KEY not in done.stdout + done.stderr


def test_serve_sh_takes_two_more_arguments_and_logs_only_their_number(platform, openai):
    env = service_env(platform, {"apiKey": API_KEY, "baseUrl": openai.url},
                      ELASTICIO_ACTION_OR_TRIGGER="sendRequest",
                      ELASTICIO_GET_MODEL_METHOD="getModels")
    done = run_cli(["selectModel", "extra-MARKER-1", "extra-MARKER-2"], env, ROOT,
                   command=[str(SERVE)])
    assert done.returncode == 0, done.stdout + done.stderr
    result = posted_result(platform)
    assert result["status"] == "success"
    assert set(result["data"]) == set(openai.models)
    records = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    [note] = [r for r in records if r["msg"] == "Arguments after the service method are not used"]
    assert note["count"] == 2
    assert "MARKER" not in done.stdout + done.stderr


def test_serve_sh_without_a_method_prints_the_usage_with_the_method_names():
    done = run_cli([], {}, ROOT, command=[str(SERVE)])
    assert done.returncode == 2
    usage = done.stderr.splitlines()[0]
    assert usage == "usage: serve.sh {" + ",".join(SERVICE_METHODS) + "} [ARG ...]"
    assert done.stdout == ""


def test_serve_sh_keeps_the_sailors_exit_code(platform):
    env = service_env(platform, {"apiKey": API_KEY})
    del env["ELASTICIO_POST_RESULT_URL"]
    done = run_cli(["verifyCredentials"], env, ROOT, command=[str(SERVE)])
    assert done.returncode == 1
    assert "ELASTICIO_POST_RESULT_URL is not provided" in done.stdout
    assert platform.requests == []
