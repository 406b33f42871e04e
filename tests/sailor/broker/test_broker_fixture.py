"""The throwaway broker: asked for (and installed) only when a selected test needs it."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.broker import INSTALL_COMMANDS, BrokerUnavailableError, ensure_installed

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.broker
def test_broker_listens_on_loopback_and_answers_rabbitmqctl(broker):
    socket.create_connection(("127.0.0.1", broker.port), timeout=5).close()
    assert "Status of node" in broker.ctl("status") or broker.ctl("status")
    assert broker.url.startswith("amqp://guest:guest@127.0.0.1:")


def test_an_installed_broker_is_left_alone(tmp_path):
    (tmp_path / "rabbitmq-server").write_text("")
    ran = []
    assert ensure_installed(tmp_path, is_root=True, which=lambda _: "/usr/bin/x",
                            run=ran.append) is False
    assert ran == []


def test_a_missing_broker_is_installed_by_root_with_apt_get(tmp_path):
    ran = []
    assert ensure_installed(tmp_path, is_root=True, which=lambda name: f"/usr/bin/{name}",
                            run=ran.append) is True
    assert ran == [*INSTALL_COMMANDS, ["service", "rabbitmq-server", "stop"]]


@pytest.mark.parametrize(("is_root", "apt_get"), [(False, "/usr/bin/apt-get"), (True, None)])
def test_a_missing_broker_that_cannot_be_installed_names_the_command(tmp_path, is_root, apt_get):
    ran = []
    with pytest.raises(BrokerUnavailableError, match="sudo apt-get install rabbitmq-server"):
        ensure_installed(tmp_path, is_root=is_root, which=lambda _: apt_get, run=ran.append)
    assert ran == []


def collect(*args: str) -> subprocess.CompletedProcess[str]:
    """pytest --collect-only where RabbitMQ is missing and cannot be installed."""
    env = {**os.environ, "RABBITMQ_BIN_DIR": "/nonexistent-rabbitmq",
           "PATH": str(Path(sys.executable).parent)}  # no apt-get
    return subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                           "-p", "no:cacheprovider", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
                          check=False)


def test_component_tests_do_not_ask_for_rabbitmq():
    done = collect("tests/component/openai/test_errors.py")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "rabbitmq" not in (done.stdout + done.stderr).lower()


def test_selected_broker_tests_ask_for_rabbitmq_before_anything_runs():
    done = collect("tests/sailor/broker/test_task_startup.py", "-m", "broker")
    assert done.returncode == 1
    assert "sudo apt-get install rabbitmq-server" in done.stdout + done.stderr
    assert collect("tests/sailor/broker/test_task_startup.py", "-m", "not broker").returncode == 5
