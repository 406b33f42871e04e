"""Fixtures of the component's tests."""

from __future__ import annotations

import functools
from typing import Any

import pytest

from lib.openai import client as client_module
from lib.openai.client import clear_clients
from lib.openai.retry import RetryPolicy


@pytest.fixture
def fresh_clients(monkeypatch: pytest.MonkeyPatch) -> Any:
    """No cached clients before or after; retries without sleeping."""
    policy = functools.partial(RetryPolicy, sleep=lambda _s: None, random=lambda: 0.0)
    monkeypatch.setattr(client_module, "RetryPolicy", policy)
    clear_clients()
    yield
    clear_clients()
