"""The command line: --help for each mode, lazy imports (fast start-up)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from elasticio_sailor.settings import SERVICE_METHODS

from tests.support.recording_server import COMPONENTS, run_cli, start_recording_server


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], "run"),
        (["run"], "Task mode"),
        (["service"], "ELASTICIO_POST_RESULT_URL"),
        (["exec"], "--select-model"),
    ],
)
def test_every_mode_answers_help(args, expected):
    done = run_cli([*args, "--help"], {}, COMPONENTS)
    assert done.returncode == 0
    assert expected in done.stdout


def test_no_command_is_a_usage_error():
    done = run_cli([], {}, COMPONENTS)
    assert done.returncode == 2
    assert "usage:" in done.stderr


def test_service_without_a_method_is_a_usage_error_that_names_the_methods():
    done = run_cli(["service"], {}, COMPONENTS)
    assert done.returncode == 2
    usage, error = done.stderr.strip().splitlines()
    assert usage.endswith(" service [-h] {" + ",".join(SERVICE_METHODS) + "} [ARG ...]")
    assert error.endswith("error: name the service method: " + ", ".join(SERVICE_METHODS))
    assert "required" not in done.stderr  # argparse's own text called ARG required too


def test_parsing_the_command_line_imports_no_heavy_library():
    code = (
        "import sys, json; from elasticio_sailor import cli; "
        "cli.build_parser().parse_args(['run']); print(json.dumps(sorted(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    modules = set(json.loads(done.stdout))
    assert not modules & {"aiormq", "pamqp", "cryptography", "requests", "asyncio"}


def test_service_mode_does_not_import_task_mode_libraries():
    state, server = start_recording_server()
    try:
        env = {
            "ELASTICIO_CFG": "{}",
            "ELASTICIO_API_URI": state.url,
            "ELASTICIO_API_USERNAME": "u",
            "ELASTICIO_API_KEY": "k",
            "ELASTICIO_POST_RESULT_URL": f"{state.url}/result",
            "ELASTICIO_ACTION_OR_TRIGGER": "echo",
            "ELASTICIO_GET_MODEL_METHOD": "loadedModules",
        }
        done = run_cli(["service", "selectModel"], env, COMPONENTS / "service_basic")
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode == 0, done.stdout + done.stderr
    (post,) = state.requests
    assert post.json() == {"status": "success", "data": {"loaded": []}}
