"""The two sailors under test: how to install, start, watch and stop each of them.

- ``node``: the official ``elasticio-sailor-nodejs`` (pinned below), installed from the npm
  registry into ``.bench/node-peer/`` on first use together with ``bench/node_component``
  (and the packages its ``package.json`` pins: ajv, axios for the twins).
- ``python``: ours, ``python -m elasticio_sailor run`` from this repository's venv.

Each runs one of two components: ``bench`` (the no-op and chat actions of
``bench/py_component`` and ``bench/node_component``) or ``real``: on our side the
repository's own component (its ``component.json``, so the benchmarks do not depend on
where its modules live), on the Node side the twins of its actions in
``bench/node_component``, which validate against the same input schemas (copied into the
peer folder for each action of the real ``component.json``).

Both are started the way the platform starts them: cwd = component root, settings in
``ELASTICIO_*`` environment variables, one JSON log line per record on stdout.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import procstat

NODE_SAILOR_VERSION = "2.7.8"
INIT_LINE = b"Fully initialized and waiting for messages"
BENCH_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = BENCH_DIR.parent
SCRATCH = REPO_ROOT / ".bench"
NODE_PEER = SCRATCH / "node-peer"
NODE_COMPONENT = BENCH_DIR / "node_component"
PY_COMPONENT = BENCH_DIR / "py_component"
SAILORS = ("node", "python")
COMPONENTS = ("bench", "real")
REAL_COMPONENT = REPO_ROOT
MINIMAL_LOOP = BENCH_DIR / "minimal_loop.py"
BASELINE: dict[str, str] = {}  # {"rev": ..., "path": ...} once set_baseline() ran


def set_baseline(rev: str) -> Path:
    """Export ``sailor/elasticio_sailor`` at git ``rev`` to .bench/baseline/<sha>/ for
    ``--sailor base`` (run with PYTHONPATH in front of the editable install)."""
    if Path(rev).is_dir():  # a folder that holds an elasticio_sailor package (experiments)
        BASELINE.update(rev=rev, path=str(Path(rev).resolve()))
        print(f"base sailor: from {rev}", flush=True)
        return Path(rev)
    sha = subprocess.run(["git", "rev-parse", "--short=10", rev], cwd=REPO_ROOT,
                         capture_output=True, text=True, check=True).stdout.strip()
    target = SCRATCH / "baseline" / sha
    if not (target / "elasticio_sailor" / "__init__.py").exists():
        target.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "archive", sha, "sailor/elasticio_sailor"],
                                 cwd=REPO_ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "--strip-components=1", "-C", str(target)],
                       input=archive, check=True)
    BASELINE.update(rev=sha, path=str(target))
    print(f"base sailor: {rev} = {sha} from {target}", flush=True)
    return target


class SailorUnavailableError(RuntimeError):
    pass


def ensure_node_peer() -> Path:
    """Copy the Node component and the real input schemas into .bench/node-peer and
    npm-install the pinned packages there (again when a pin changed)."""
    NODE_PEER.mkdir(parents=True, exist_ok=True)
    for source in NODE_COMPONENT.rglob("*"):
        if source.is_file():
            target = NODE_PEER / source.relative_to(NODE_COMPONENT)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    copy_real_schemas(NODE_PEER / "schemas")
    pins = json.loads((NODE_COMPONENT / "package.json").read_text())["dependencies"]
    if pins.get("elasticio-sailor-nodejs") != NODE_SAILOR_VERSION:
        raise SailorUnavailableError(f"bench/node_component/package.json must pin "
                                     f"elasticio-sailor-nodejs {NODE_SAILOR_VERSION}")
    if any(installed_node_version(name) != version for name, version in pins.items()):
        npm = shutil.which("npm")
        if npm is None:
            raise SailorUnavailableError("npm is not on PATH: cannot install the Node sailor")
        print(f"installing {', '.join(f'{n}@{v}' for n, v in pins.items())} into "
              f"{NODE_PEER} ...", flush=True)
        result = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
            cwd=NODE_PEER, capture_output=True, text=True, timeout=600, check=False,
        )
        if result.returncode != 0:
            raise SailorUnavailableError(f"npm install failed:\n{result.stderr[-3000:]}")
    return NODE_PEER


def installed_node_version(package: str) -> str | None:
    manifest = NODE_PEER / "node_modules" / package / "package.json"
    return json.loads(manifest.read_text())["version"] if manifest.exists() else None


def copy_real_schemas(folder: Path) -> None:
    """``<action>.in.json`` for each action of the real component's component.json: the
    validation schema the action checks bodies against (``schemas/<id>.in.json``, see
    docs/metadata.md), else the schema ``metadata.in`` names."""
    folder.mkdir(parents=True, exist_ok=True)
    actions = json.loads((REAL_COMPONENT / "component.json").read_text())["actions"]
    for name, action in actions.items():
        source = REAL_COMPONENT / "schemas" / f"{name}.in.json"
        published = action.get("metadata", {}).get("in")
        if not source.exists() and isinstance(published, str):
            source = REAL_COMPONENT / published
        if source.exists():
            shutil.copyfile(source, folder / f"{name}.in.json")


def command(kind: str, component: str = "bench") -> tuple[list[str], Path]:
    """(argv, cwd) that start the sailor ``kind`` in task mode with ``component``."""
    if component not in COMPONENTS:
        raise ValueError(f"unknown component {component!r}")
    if kind == "node":
        root = ensure_node_peer()
        node = shutil.which("node")
        if node is None:
            raise SailorUnavailableError("node is not on PATH")
        return [node, "./node_modules/elasticio-sailor-nodejs/run.js"], root
    if kind in ("python", "base", "minimal"):
        python = REPO_ROOT / ".venv" / "bin" / "python"
        if not python.exists():
            python = Path(sys.executable)
        if kind == "minimal":
            if component == "real":
                raise SailorUnavailableError("the minimal loop runs no component")
            return [str(python), str(MINIMAL_LOOP)], PY_COMPONENT
        cwd = REAL_COMPONENT if component == "real" else PY_COMPONENT
        return [str(python), "-m", "elasticio_sailor", "run"], cwd
    raise ValueError(f"unknown sailor {kind!r}")


@dataclass
class SailorProcess:
    """One sailor process; stdout is drained by a thread that stamps the init line."""

    kind: str
    env: dict[str, str]
    component: str = "bench"
    spawned_at: float = 0.0
    initialized_at: float | None = None
    cpu_at_init: float | None = None
    rss_at_init_kb: int | None = None
    tail: collections.deque = field(default_factory=lambda: collections.deque(maxlen=40))
    lines: int = 0
    profiled: bool = False
    _process: subprocess.Popen | None = None
    _init: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        argv, cwd = command(self.kind, self.component)
        if self.kind == "base":
            self.env = {**self.env, "PYTHONPATH": BASELINE["path"]}
        profile = os.environ.get("BENCH_PYSPY")  # a folder: profile the Python side(s)
        pyspy = Path(argv[0]).parent / "py-spy"
        if profile and self.kind != "node" and pyspy.exists():
            # py-spy becomes the parent: the CPU and RSS figures of such a run are py-spy's
            out = Path(profile) / f"{self.kind}-{int(time.time() * 1000)}.txt"
            out.parent.mkdir(parents=True, exist_ok=True)
            self.profiled = True
            # e.g. BENCH_PYSPY_OPTIONS="--gil -r 100": only the thread holding the GIL
            options = os.environ.get("BENCH_PYSPY_OPTIONS", "-r 200").split()
            argv = [str(pyspy), "record", *options, "-f", "raw", "-o", str(out), "--", *argv]
        self.spawned_at = time.time()
        self._process = subprocess.Popen(
            argv, cwd=cwd, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        threading.Thread(target=self._drain, daemon=True).start()

    @property
    def pid(self) -> int:
        return self._process.pid

    def _drain(self) -> None:
        stream = self._process.stdout
        for line in stream:
            if not self._init.is_set() and INIT_LINE in line:
                self.initialized_at = time.time()
                self.cpu_at_init = procstat.cpu_seconds(self.pid)
                self.rss_at_init_kb = procstat.memory_kb(self.pid).get("VmRSS")
                self._init.set()
            self.lines += 1
            self.tail.append(line.decode("utf-8", "replace").rstrip())

    def wait_initialized(self, timeout: float) -> None:
        """Block until the init line; SailorUnavailableError if the process dies or stalls."""
        deadline = time.monotonic() + timeout
        while not self._init.wait(0.01):
            code = self._process.poll()
            if code is not None:
                time.sleep(0.2)  # let the drain thread pick up the last lines
                raise SailorUnavailableError(
                    f"{self.kind} sailor exited with code {code} before it was initialized; "
                    f"last output:\n{self.last_output()}")
            if time.monotonic() > deadline:
                raise SailorUnavailableError(
                    f"{self.kind} sailor did not log {INIT_LINE.decode()!r} within {timeout} s; "
                    f"last output:\n{self.last_output()}")

    def returncode(self) -> int | None:
        return self._process.poll()

    def last_output(self, lines: int = 15) -> str:
        return "\n".join(list(self.tail)[-lines:]) or "(nothing)"

    def stop(self, timeout: float = 20) -> int:
        """SIGTERM, wait for a graceful exit (SIGKILL after ``timeout``); the exit code."""
        children = _children(self.pid) if self.profiled else []
        if self._process.poll() is None:
            # py-spy writes its profile on SIGINT; the profiled process gets a SIGTERM after
            self._process.send_signal(signal.SIGINT if self.profiled else signal.SIGTERM)
            try:
                self._process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGTERM)
        return self._process.returncode

    def kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def base_env(amqp_url: str, *, api_url: str, username: str, api_key: str, password: str,
             iv: str, function: str) -> dict[str, str]:
    """The environment the platform gives a task-mode sailor (topology keys come on top)."""
    from .amqp_rig import COMP_ID, FLOW_ID, STEP_ID, USER_ID, WORKSPACE_ID

    keep = {k: v for k, v in os.environ.items()
            if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ")}
    return {
        **keep,
        "ELASTICIO_FLOW_ID": FLOW_ID,
        "ELASTICIO_EXEC_ID": "exec-bench",
        "ELASTICIO_STEP_ID": STEP_ID,
        "ELASTICIO_CONTAINER_ID": "c0ffee00-0000-4000-8000-000000000001",
        "ELASTICIO_WORKSPACE_ID": WORKSPACE_ID,
        "ELASTICIO_USER_ID": USER_ID,
        "ELASTICIO_COMP_ID": COMP_ID,
        "ELASTICIO_FUNCTION": function,
        "ELASTICIO_API_URI": api_url,
        "ELASTICIO_API_USERNAME": username,
        "ELASTICIO_API_KEY": api_key,
        "ELASTICIO_AMQP_URI": amqp_url,
        "ELASTICIO_MESSAGE_CRYPTO_PASSWORD": password,
        "ELASTICIO_MESSAGE_CRYPTO_IV": iv,
    }
