"""The guarded world of the hostile download tests (``tests/support/hostile_world.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.hostile_world import API_KEY, FILES, TYPES, World
from tests.support.misbehaving_server import misbehaving_server
from tests.support.openai_standin import OpenAIStandIn
from tests.support.openapi_contract import validate


@pytest.fixture
def world(tmp_path: Path, repo_root: Path) -> Iterator[World]:
    """A fresh attachment server and OpenAI stand-in, and a record of the connects."""
    with misbehaving_server(files=dict(FILES), types=dict(TYPES), drip_interval_s=0.25
                            ) as server, OpenAIStandIn(api_key=API_KEY,
                                                       validator=validate) as openai:
        yield World(server, openai, tmp_path / "connects.jsonl", repo_root, tmp_path)
