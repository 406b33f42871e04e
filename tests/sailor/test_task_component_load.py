"""Task mode loads the component's module while it connects (docs/protocol.md#start-up):
the imports overlap the AMQP connect and the step data, and every outcome is reported as
when the module was loaded after them. In process, with stand-ins for AMQP and the
platform API; the broker tests run the same start-up for real."""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import threading
import types
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from elasticio_sailor import amqp, task_mode
from elasticio_sailor.log import get_logger
from elasticio_sailor.settings import TaskSettings, load_task_settings

from tests.support.platform_sim import CRYPTO_IV, CRYPTO_PASSWORD, step_identity_env

PROBE = "task_component_load_probe"  # what the component's module reports to
IMPORT_WAIT_S = 10  # a bound for a broken start-up, never reached when it works
CONNECT_FAILED = "Cannot connect to the broker (stand-in)"

ACTION = f"""
import {PROBE} as probe

probe.events.append("imported")
probe.imported.set()
if probe.fail_import:
    raise RuntimeError("broken at import")


def init(cfg):
    probe.events.append("init")


def process(msg, cfg):
    return msg
"""


@pytest.fixture
def probe(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    module = types.ModuleType(PROBE)
    module.events = []  # type: ignore[attr-defined]
    module.imported = threading.Event()  # type: ignore[attr-defined]
    module.fail_import = False  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, PROBE, module)
    return module


@pytest.fixture
def component(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / "component.json").write_text(json.dumps(
        {"title": "probe", "actions": {"probe": {"main": "./probe-action.py"}}}))
    (tmp_path / "probe-action.py").write_text(ACTION)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))  # the loader puts the root first
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        if name.endswith("_probe-action"):
            del sys.modules[name]


def settings() -> TaskSettings:
    return load_task_settings({
        **step_identity_env("http://127.0.0.1:9/", "probe"),
        "ELASTICIO_AMQP_URI": "amqp://guest:guest@127.0.0.1:9",
        "ELASTICIO_LISTEN_MESSAGES_ON": "input",
        "ELASTICIO_PUBLISH_MESSAGES_TO": "exchange",
        "ELASTICIO_DATA_ROUTING_KEY": "data",
        "ELASTICIO_ERROR_ROUTING_KEY": "error",
        "ELASTICIO_REBOUND_ROUTING_KEY": "rebound",
        "ELASTICIO_SNAPSHOT_ROUTING_KEY": "snapshot",
        "ELASTICIO_MESSAGE_CRYPTO_IV": CRYPTO_IV,
        "ELASTICIO_MESSAGE_CRYPTO_PASSWORD": CRYPTO_PASSWORD,
    })


class StandIns:
    """AMQP and the platform API as the start-up uses them; ``connect`` is the test's."""

    def __init__(self, probe: types.ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
        self.events: list[str] = probe.events
        self.published: list[str] = []
        stand_ins = self

        class Api:
            def get_step_data(self, _flow_id: str, _step_id: str) -> dict[str, Any]:
                stand_ins.events.append("step data")
                return {"config": {}}

        class Amqp:
            def __init__(self, _settings: Any, _log: Any) -> None:
                pass

            async def connect(self) -> None:
                await stand_ins.connect()

            async def consume(self, _queue: str, _on_delivery: Any, on_lost: Any) -> None:
                stand_ins.events.append("consume")
                on_lost()  # ends the run: a graceful shutdown, as when consuming is lost

            async def stop_consuming(self) -> None:
                stand_ins.events.append("stop consuming")

            async def publish(self, routing_key: str, *_args: Any, **_kwargs: Any) -> None:
                stand_ins.published.append(routing_key)

            async def close(self) -> None:
                stand_ins.events.append("close")

        monkeypatch.setattr(amqp, "AmqpClient", Amqp)
        monkeypatch.setattr(task_mode, "platform_api_for", lambda _settings: Api())

    async def connect(self) -> None:
        raise NotImplementedError

    def run(self, *, one_worker_thread: bool = False) -> int:
        async def run() -> int:
            if one_worker_thread:  # the loop's threads run their calls one after another
                asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(1))
            return await task_mode.TaskSailor(settings(), get_logger("sailor")).run()

        code = asyncio.run(run())
        gc.collect()  # an exception nobody retrieved is logged when its future goes
        return code


def fatal_messages(out: str) -> list[str]:
    return [record["msg"] for line in out.splitlines()
            if (record := json.loads(line)).get("level") == 60]


@pytest.mark.usefixtures("component")
def test_the_module_loads_while_amqp_connects(probe, monkeypatch, capsys) -> None:
    stand_ins = StandIns(probe, monkeypatch)

    async def connect() -> None:
        stand_ins.events.append("connect")
        imported = await asyncio.to_thread(probe.imported.wait, IMPORT_WAIT_S)
        stand_ins.events.append("connected" if imported else "connected, nothing imported")

    stand_ins.connect = connect  # type: ignore[method-assign]
    assert stand_ins.run() == task_mode.EXIT_CONSUMER_LOST
    assert sorted(probe.events[:2]) == ["connect", "imported"]
    assert probe.events[2:] == [
        "connected", "step data", "init", "consume", "stop consuming", "close"]
    assert stand_ins.published == []
    messages = [json.loads(line)["msg"] for line in capsys.readouterr().out.splitlines()]
    assert "Fully initialized and waiting for messages" in messages


@pytest.mark.usefixtures("component")
@pytest.mark.parametrize("load_ends_first", [True, False])
def test_a_failed_connect_is_reported_not_the_failed_load(
    probe, monkeypatch, capsys, caplog, load_ends_first: bool,
) -> None:
    """Both fail; what is reported is the connect, as when the module was loaded after it,
    whether the load has failed already or is still running when the connect gives up."""
    probe.fail_import = True
    stand_ins = StandIns(probe, monkeypatch)

    async def connect() -> None:
        if load_ends_first:  # with one worker thread, this call waits for the load
            await asyncio.get_running_loop().run_in_executor(None, probe.imported.is_set)
            assert "imported" in probe.events
        stand_ins.events.append("connect failed")
        raise amqp.AmqpError(CONNECT_FAILED)

    stand_ins.connect = connect  # type: ignore[method-assign]
    assert stand_ins.run(one_worker_thread=load_ends_first) == task_mode.EXIT_STARTUP_FAILED
    out = capsys.readouterr().out
    assert fatal_messages(out) == [CONNECT_FAILED]
    assert stand_ins.published == []
    assert "step data" not in probe.events
    assert "never retrieved" not in out + caplog.text
    assert "broken at import" not in out + caplog.text


@pytest.mark.usefixtures("component")
def test_a_failed_load_is_reported_after_the_step_data(probe, monkeypatch, capsys) -> None:
    """Loaded early, failed early: reported where it was, once connected, as the init
    error, and nothing is consumed."""
    probe.fail_import = True
    stand_ins = StandIns(probe, monkeypatch)

    async def connect() -> None:
        await asyncio.to_thread(probe.imported.wait, IMPORT_WAIT_S)
        stand_ins.events.append("connected")

    stand_ins.connect = connect  # type: ignore[method-assign]
    assert stand_ins.run() == task_mode.EXIT_STARTUP_FAILED
    assert probe.events == ["imported", "connected", "step data", "close"]
    assert stand_ins.published == ["error"]
    [fatal] = [json.loads(line) for line in capsys.readouterr().out.splitlines()
               if json.loads(line).get("level") == 60]
    assert fatal["msg"] == "Start-up failed"
    assert "can not be loaded" in json.dumps(fatal)
