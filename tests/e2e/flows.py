"""One step of ours in a simulated flow, for the end-to-end tests of each action."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.support.platform_sim import PlatformSim, SailorRun


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
