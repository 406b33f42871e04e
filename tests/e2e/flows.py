"""One step of ours in a simulated flow, for the end-to-end tests of each action."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.object_storage import ObjectStorageStandIn
from tests.support.openai_standin import OpenAIStandIn
from tests.support.openapi_contract import validate
from tests.support.platform_sim import PlatformSim, SailorRun

FILES_API_KEY = "sk-e2e-files-SECRET-key"
STORAGE_TOKEN = "maester-e2e-token-SECRET"


@contextmanager
def step_in_flow(
    broker_url: str, repo_root: Path, function: str, step_data: dict[str, Any],
    secret: str, **default_env: str,
) -> Iterator[tuple[PlatformSim, Callable[..., SailorRun]]]:
    """(sim, start): `start(**env)` runs our sailor with `function` from the repository
    root. At the end every run must have stopped cleanly without printing `secret`."""
    sim = PlatformSim(broker_url, step_data=step_data)
    runs: list[SailorRun] = []

    def start(**env: str) -> SailorRun:
        run = sim.start_sailor(function, cwd=repo_root, **{**default_env, **env})
        runs.append(run)
        return run

    try:
        yield sim, start
        for run in runs:
            assert run.stop() == 0, run.output()
            assert secret not in run.output()
    finally:
        sim.close()


@dataclass
class FileFlow:
    """Our step in a simulated flow, with the stand-ins of OpenAI and the platform's
    object storage (the actions that take or make files)."""

    broker: Any
    repo_root: Path
    openai: OpenAIStandIn
    storage: ObjectStorageStandIn

    def run(self, function: str, message: dict[str, Any], **config: str) -> dict[str, Any]:
        """One message through our step `function`: the one message it emits."""
        step_data = {"config": {"apiKey": FILES_API_KEY, "baseUrl": self.openai.url,
                                **config}}
        with step_in_flow(self.broker.url, self.repo_root, function, step_data,
                          FILES_API_KEY, ELASTICIO_OBJECT_STORAGE_URI=self.storage.url,
                          ELASTICIO_OBJECT_STORAGE_TOKEN=STORAGE_TOKEN) as (sim, start):
            sim.publish_input(message)
            run = start()
            sim.wait_until(lambda: sim.published_to("data") or sim.published_to("error"),
                           timeout=60)
            assert sim.published_to("error") == []
            [data] = sim.published_to("data")
            assert sim.wait_until(lambda: sim.input_depth() == 0)
            assert STORAGE_TOKEN not in run.output()
            decoded: dict[str, Any] = data.decoded()
            return decoded


@contextmanager
def file_flow(broker: Any, repo_root: Path) -> Iterator[FileFlow]:
    """A `FileFlow` whose OpenAI stand-in checks every request against the official
    document (no violation may be left at the end)."""
    with (OpenAIStandIn(api_key=FILES_API_KEY, validator=validate) as openai,
          ObjectStorageStandIn(STORAGE_TOKEN) as storage):
        yield FileFlow(broker, repo_root, openai, storage)
        assert openai.violations == [], "a request broke the OpenAPI contract"
