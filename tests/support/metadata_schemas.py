"""Checks every action's metadata files share: each field titled and described.

    from tests.support.metadata_schemas import undescribed
    assert undescribed(load_schema("moderate.out.json"), output=True) == []
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator

from lib.validation import to_json_schema


def fields(schema: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every property schema with its path, list items included (``data[]``)."""
    for name, sub in schema.get("properties", {}).items():
        yield f"{path}.{name}".lstrip("."), sub
        yield from fields(sub, f"{path}.{name}")
        if isinstance(sub.get("items"), dict):
            yield f"{path}.{name}[]".lstrip("."), sub["items"]
            yield from fields(sub["items"], f"{path}.{name}[]")


def undescribed(schema: dict[str, Any], *, output: bool) -> list[str]:
    """What is missing: a title or description (the file's own or a field's), a `required`
    that is not the platform's boolean, and in an output schema a field that does not say
    whether it is always there. Empty when the file is complete; it is also checked to be
    valid JSON Schema."""
    Draft202012Validator.check_schema(to_json_schema(schema))
    problems = [what for what, ok in (("title", schema.get("title")),
                                      ("description", schema.get("help", {}).get("description")))
                if not ok]
    for path, prop in fields(schema):
        if not prop.get("title"):
            problems.append(f"{path}: no title")
        if not prop.get("help", {}).get("description"):
            problems.append(f"{path}: no description")
        if isinstance(prop.get("required"), list):
            problems.append(f"{path}: required is a list")
        if output and not path.endswith("[]") and not isinstance(prop.get("required"), bool):
            problems.append(f"{path}: required is not true or false")
    return problems
