"""Validation problems come in the body's order; a body nested too deep is refused first."""

from __future__ import annotations

from typing import Any

import pytest

from lib.errors import InputValidationError
from lib.validation import MAX_BODY_DEPTH, first_too_deep, validate_input


def nested(depth: int) -> Any:
    """Lists `depth` deep (built, not parsed: the JSON parser has a recursion limit)."""
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value


def test_problems_keep_the_body_order() -> None:
    messages: list[dict[str, Any]] = [{"role": "user", "content": "x"} for _ in range(12)]
    messages[10] = {"role": "bad", "content": "x"}
    messages[2] = {"role": "bad", "content": "x"}
    with pytest.raises(InputValidationError) as caught:
        validate_input({"temperature": "hot", "messages": messages, "n": "two"})
    assert [problem.split(" ", 1)[0] for problem in caught.value.problems] == [
        "temperature", "messages[2].role", "messages[10].role", "n"]


@pytest.mark.parametrize("depth", [MAX_BODY_DEPTH + 1, 900, 10_000])
def test_a_body_nested_too_deep_is_refused_with_a_clear_message(depth: int) -> None:
    body = {"messages": [{"role": "user", "content": "x"}], "metadata": {"x": None}}
    body["metadata"]["x"] = nested(depth)
    with pytest.raises(InputValidationError) as caught:
        validate_input(body)
    expected = (f"metadata.x[0][0]... is nested more than {MAX_BODY_DEPTH} levels deep "
                "(the limit of a message body)")
    assert caught.value.problems == [expected]



def test_the_deepest_allowed_body_passes_the_depth_check() -> None:
    body = {"x": nested(MAX_BODY_DEPTH - 1)}  # the innermost list is at depth 100
    assert first_too_deep(body, MAX_BODY_DEPTH) is None
    assert first_too_deep({"x": nested(MAX_BODY_DEPTH)}, MAX_BODY_DEPTH) == ["x", *[0] * 99]
