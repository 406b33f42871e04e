"""What a component's process can do to the sailor."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.broker


def component(root: Path, code: str) -> Path:
    (root / "component.json").write_text(json.dumps({"actions": {"a": {"main": "./a.py"}}}))
    (root / "a.py").write_text(textwrap.dedent(code))
    return root


@pytest.mark.parametrize("exc", ["SystemExit(3)", "KeyboardInterrupt()"])
@pytest.mark.parametrize("kind", ["def", "async def"])
def test_base_exception_in_process_is_an_error_not_a_crash(
        sim, tmp_path: Path, exc: str, kind: str) -> None:
    """sys.exit() or a KeyboardInterrupt raised by component code crashed the whole
    sailor: no error, the input (and every other message in hand) left unsettled and
    redelivered to the next container, which crashes again."""
    root = component(tmp_path, f"""
    {kind} process(self, msg, cfg, snapshot):
        raise {exc}
    """)
    sim.publish_input({"body": {"x": 1}})
    run = sim.start_sailor("a", cwd=root)
    [error] = sim.wait_published(1)
    assert sim.wait_until(lambda: sim.rejected_count() == 1)
    assert run.process.poll() is None
    assert run.stop() == 0
    assert error.routing_key == sim.routing_keys["error"]
    assert error.envelope()["error"]["name"] == exc.split("(", maxsplit=1)[0]
    assert sim.input_depth() == 0
