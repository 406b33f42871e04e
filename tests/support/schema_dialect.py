"""Checks every metadata schema of the platform's dialect must pass (titles, help texts,
boolean `required` on properties)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def walk(schema: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every property schema with its path (array items as ``name[]``)."""
    for name, sub in schema.get("properties", {}).items():
        yield f"{path}.{name}".lstrip("."), sub
        yield from walk(sub, f"{path}.{name}")
        if isinstance(sub.get("items"), dict):
            yield from walk(sub["items"], f"{path}.{name}[]")


def dialect_problems(schema: dict[str, Any], *, output: bool) -> list[str]:
    """What breaks the dialect: a property without a title or a description, a list
    `required` on a property; in an output schema, a property without `required`."""
    problems = [] if schema.get("title") else ["the schema has no title"]
    for path, prop in walk(schema):
        if not prop.get("title"):
            problems.append(f"{path}: no title")
        if not (prop.get("help") or {}).get("description"):
            problems.append(f"{path}: no help.description")
        if isinstance(prop.get("required"), list):
            problems.append(f"{path}: required must be a boolean on a property")
        if output and not isinstance(prop.get("required"), bool):
            problems.append(f"{path}: an output property must say whether it is required")
    return problems
