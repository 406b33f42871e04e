"""A throwaway RabbitMQ node for the test session.

Debian's ``rabbitmq-server`` is started straight from its library folder (not as the
system service) with its own node name, free ports on 127.0.0.1 and its own data
directory, and is stopped at the end of the session. When the selected tests need it
(``tests/conftest.py``), :func:`ensure_installed` installs the package first (as root with
apt-get) or ends the session with the command to run; nothing else asks for RabbitMQ.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

RABBITMQ_BIN = Path(os.environ.get("RABBITMQ_BIN_DIR", "/usr/lib/rabbitmq/bin"))
START_TIMEOUT_S = 90


class BrokerUnavailableError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Broker:
    """A running node: ``url`` for clients, ``ctl(...)`` for rabbitmqctl commands."""

    node: str
    port: int
    home: Path
    env: dict[str, str]
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def ctl(self, *args: str, timeout: float = 60) -> str:
        result = subprocess.run(
            [str(RABBITMQ_BIN / "rabbitmqctl"), "-n", self.node, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise BrokerUnavailableError(
                f"rabbitmqctl {' '.join(args)} failed: {result.stderr.strip() or result.stdout}"
            )
        return result.stdout

    def connection_names(self) -> list[str]:
        """Client-provided or peer names of the open connections."""
        out = self.ctl("list_connections", "pid", "name", "--quiet", "--no-table-headers")
        return [line for line in out.splitlines() if line.strip()]

    def close_all_connections(self, reason: str = "test") -> int:
        """Close every client connection from the broker side; returns how many."""
        out = self.ctl("list_connections", "pid", "--quiet", "--no-table-headers")
        pids = [line.strip() for line in out.splitlines() if line.strip()]
        for pid in pids:
            self.ctl("close_connection", pid, reason)
        return len(pids)

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            self.ctl("stop", timeout=60)
        except (BrokerUnavailableError, subprocess.TimeoutExpired):
            self.process.kill()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.process = None
        shutil.rmtree(self.home, ignore_errors=True)


INSTALL_COMMANDS = (
    ["apt-get", "update", "-qq"],
    ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "rabbitmq-server"],
)


def ensure_installed(
    bin_dir: Path = RABBITMQ_BIN,
    *,
    is_root: bool | None = None,
    which: Callable[[str], str | None] = shutil.which,
    run: Callable[[list[str]], object] = lambda command: subprocess.run(
        command, check=True, capture_output=True,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}),
) -> bool:
    """Install Debian's rabbitmq-server when it is missing: True if it was installed now.

    As root with apt-get, it is installed (and the system node the package may start is
    stopped: the tests start their own); otherwise BrokerUnavailableError says what to run.
    """
    if (bin_dir / "rabbitmq-server").exists():
        return False
    root = os.geteuid() == 0 if is_root is None else is_root
    if not (root and which("apt-get")):
        raise BrokerUnavailableError(
            "RabbitMQ is needed for the broker tests (pytest marker 'broker'); install it: "
            "sudo apt-get install rabbitmq-server, or leave them out: -m 'not broker'"
        )
    for command in INSTALL_COMMANDS:
        run(command)
    if which("service"):
        with contextlib.suppress(subprocess.CalledProcessError):  # no system node running
            run(["service", "rabbitmq-server", "stop"])
    return True


def start_broker() -> Broker:
    server = RABBITMQ_BIN / "rabbitmq-server"
    if not server.exists():
        raise BrokerUnavailableError(
            f"RabbitMQ is not installed ({server} is missing): "
            "sudo apt-get install rabbitmq-server"
        )
    home = Path(tempfile.mkdtemp(prefix="sailor-test-rabbitmq-"))
    node = f"sailortest-{uuid.uuid4().hex[:8]}@localhost"
    port = free_port()
    (home / "enabled_plugins").write_text("[].\n")
    (home / "rabbitmq.conf").write_text("loopback_users = none\nlog.console = false\n")
    env = {
        **os.environ,
        "HOME": str(home),
        "RABBITMQ_NODENAME": node,
        "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
        "RABBITMQ_NODE_PORT": str(port),
        "RABBITMQ_DIST_PORT": str(free_port()),
        "RABBITMQ_MNESIA_BASE": str(home / "mnesia"),
        "RABBITMQ_LOG_BASE": str(home / "log"),
        "RABBITMQ_CONFIG_FILE": str(home / "rabbitmq"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(home / "enabled_plugins"),
        "RABBITMQ_PLUGINS_EXPAND_DIR": str(home / "plugins-expand"),
        "RABBITMQ_PID_FILE": str(home / "pid"),
    }
    with (home / "server.log").open("wb") as log:
        process = subprocess.Popen(
            [str(server)], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=home
        )
    broker = Broker(node=node, port=port, home=home, env=env, process=process)
    try:
        broker.ctl("wait", str(home / "pid"), "--timeout", str(START_TIMEOUT_S),
                   timeout=START_TIMEOUT_S + 10)
        _wait_for_port(port, deadline=time.monotonic() + 30)
    except Exception as exc:
        tail = (home / "server.log").read_text(errors="replace")[-2000:]
        process.kill()
        raise BrokerUnavailableError(f"RabbitMQ did not start: {exc}\n{tail}") from exc
    return broker


def _wait_for_port(port: int, deadline: float) -> None:
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
        else:
            return
