"""A base URL pasted as the full endpoint URL."""

from __future__ import annotations

import pytest

from lib.config import parse_base_url


@pytest.mark.parametrize("value", [
    "https://llm.example.com/v1/chat/completions",
    "https://llm.example.com/v1/chat/completions/",
])
def test_the_endpoint_path_is_not_doubled(value: str) -> None:
    # was sent to .../v1/chat/completions/chat/completions (and .../chat/completions/models)
    assert parse_base_url(value) == "https://llm.example.com/v1"
