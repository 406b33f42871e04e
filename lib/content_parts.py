"""The content parts of a conversation: Send Request's `messages` and Create Response's
`input` are both lists of items whose `content` may be a list of parts. One walk for
both, naming each part's place in the body (``messages[0].content[1]``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def content_parts(items: Any, field: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """`(place, part)` for every object part of every item's `content` list; `field` is
    the items' name in the body (``messages``, ``input``). Anything else is skipped."""
    if not isinstance(items, list):
        return
    for i_index, item in enumerate(items):
        content = item.get("content") if isinstance(item, dict) else None
        if not isinstance(content, list):
            continue
        for p_index, part in enumerate(content):
            if isinstance(part, dict):
                yield f"{field}[{i_index}].content[{p_index}]", part


def foreign_parts(items: Any, field: str, foreign: dict[str, str], *, other_api: str,
                  action: str) -> list[str]:
    """One problem for each part in `items` whose type belongs to the other API: `foreign`
    maps such a type to the part `action` takes instead; `other_api` names that API."""
    problems = []
    for place, part in content_parts(items, field):
        kind = part.get("type")
        if isinstance(kind, str) and kind in foreign:
            problems.append(f"{place}.type: {kind} is a content part of {other_api}; "
                            f"{action} takes {foreign[kind]}")
    return problems
