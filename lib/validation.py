"""Validation of the incoming body against the action's input schema (`schemas/*.in.json`).

The schema file is JSON Schema with the platform's `"required": true` on a property;
:func:`to_json_schema` turns it into standard JSON Schema (draft 2020-12) for
`jsonschema`. The platform's mapper gets a copy reduced to its dialect, made from the same
file (docs/metadata.md#the-split). Error messages name the field
(``messages[0].content[1].image_url``) and the problem, and never echo long values (they
may be base64 attachments).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from lib.errors import InputValidationError

SCHEMAS_DIR = Path(__file__).resolve().parent.parent / "schemas"
INPUT_SCHEMA_FILE = "sendRequest.in.json"
MAX_VALUE_CHARS = 40
# The deepest nesting a message body may have (a Chat Completions request needs about 10;
# JSON schemas of structured outputs and tool parameters a few dozen).
MAX_BODY_DEPTH = 100
SHOWN_PATH_STEPS = 4

_JSON_TYPE_NAMES: dict[type, str] = {dict: "object", list: "array", str: "string"}
_TYPE_NAMES = {
    "object": "an object",
    "array": "an array",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


def load_schema(name: str) -> dict[str, Any]:
    """A schema file from `schemas/`, parsed."""
    schema = json.loads((SCHEMAS_DIR / name).read_text(encoding="utf-8"))
    if not isinstance(schema, dict):
        raise TypeError(f"schemas/{name} is not a JSON object")
    return schema


def to_json_schema(schema: Any) -> Any:
    """Platform dialect -> JSON Schema: boolean `required` on properties becomes a list."""
    if isinstance(schema, list):
        return [to_json_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {
        key: to_json_schema(value)
        for key, value in schema.items()
        if not (key == "required" and isinstance(value, bool))  # a flag for the parent
    }
    props = schema.get("properties")
    if isinstance(props, dict):
        required = list(schema["required"]) if isinstance(schema.get("required"), list) else []
        required += [
            name for name, sub in props.items()
            if isinstance(sub, dict) and sub.get("required") is True and name not in required
        ]
        if required:
            out["required"] = required
    return out


_validators: dict[str, Draft202012Validator] = {}
_validators_lock = threading.Lock()


def input_validator(schema_file: str = INPUT_SCHEMA_FILE) -> Draft202012Validator:
    """The compiled validator of `schemas/<schema_file>`, made once per process.

    Checking the schema costs tens of milliseconds; under the lock it is done once even
    when a whole prefetch of first messages asks at the same moment (each thread compiling
    its own copy tripled the CPU of a first wave of 50). The actions' `init` asks for it at
    start-up, before the first message.
    """
    validator = _validators.get(schema_file)
    if validator is None:
        with _validators_lock:
            validator = _validators.get(schema_file)
            if validator is None:
                schema = to_json_schema(load_schema(schema_file))
                Draft202012Validator.check_schema(schema)
                validator = _validators[schema_file] = Draft202012Validator(schema)
    return validator


def field_path(parts: Iterable[Any]) -> str:
    """``['messages', 0, 'content']`` -> ``messages[0].content``."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "body"


def short_value(value: Any) -> str:
    """A value for a message: JSON, cut to a few characters."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    if len(text) > MAX_VALUE_CHARS:
        text = text[: MAX_VALUE_CHARS - 3] + "..."
    return text


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return _JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def _required(error: ValidationError, _where: str) -> str:
    # one error per missing field; its message starts with that field's repr()
    required, instance = error.validator_value, error.instance
    missing = []
    if isinstance(required, list) and isinstance(instance, dict):
        missing = [name for name in required if name not in instance
                   and error.message.startswith(repr(name))]
    return f"{field_path([*error.absolute_path, missing[0] if missing else 'a field'])} is required"


def _type(error: ValidationError, where: str) -> str:
    allowed = error.validator_value
    types = allowed if isinstance(allowed, list) else [allowed]
    wanted = " or ".join(_TYPE_NAMES.get(str(t), str(t)) for t in types)
    return f"{where} must be {wanted}, got {_type_name(error.instance)}"


def _enum(error: ValidationError, where: str) -> str:
    allowed = error.validator_value
    options = ", ".join(str(v) for v in (allowed if isinstance(allowed, list) else [allowed]))
    return f"{where} must be one of {options}, got {short_value(error.instance)}"


def _min_items(error: ValidationError, where: str) -> str:
    return f"{where} must have at least {error.validator_value} item(s)"


def _min_length(error: ValidationError, where: str) -> str:
    if error.validator_value == 1:
        return f"{where} must not be empty"
    return f"{where} must have at least {error.validator_value} characters"


def _minimum(error: ValidationError, where: str) -> str:
    return f"{where} must be at least {error.validator_value}, got {short_value(error.instance)}"


def _maximum(error: ValidationError, where: str) -> str:
    return f"{where} must be at most {error.validator_value}, got {short_value(error.instance)}"


def _max_length(error: ValidationError, where: str) -> str:
    length = len(error.instance) if isinstance(error.instance, str) else 0
    return (f"{where} has {length:,} characters; at most {error.validator_value:,} are "
            "allowed")


def _not(error: ValidationError, where: str) -> str:
    together = error.validator_value.get("required") if isinstance(
        error.validator_value, dict) else None
    if together:
        return f"{where}: {' and '.join(together)} cannot be used together"
    return f"{where}: not check failed for {short_value(error.instance)}"


def _any_of(error: ValidationError, where: str) -> str:
    alternatives = error.validator_value
    if isinstance(alternatives, list) and all(
        isinstance(sub, dict) and set(sub) == {"required"} for sub in alternatives
    ):
        names = ", ".join(sub["required"][0] for sub in alternatives)
        return f"{where} needs one of {names}"
    return f"{where} matches none of the allowed forms"


_DESCRIBERS = {
    "required": _required,
    "type": _type,
    "enum": _enum,
    "minItems": _min_items,
    "minLength": _min_length,
    "minimum": _minimum,
    "maximum": _maximum,
    "maxLength": _max_length,
    "not": _not,
    "anyOf": _any_of,
}


def describe(error: ValidationError) -> str:
    """One validation error as ``<field> <problem>``."""
    where = field_path(error.absolute_path)
    describer = _DESCRIBERS.get(str(error.validator))
    if describer is not None:
        return describer(error, where)
    return f"{where}: {error.validator} check failed for {short_value(error.instance)}"


# What shows that a body was written for another action: its problems, each with the
# place and the action it belongs to (each surface's `request.misdirected`).
Misdirected = Callable[[dict[str, Any]], list[str]]


def validate_input(body: Any, schema_file: str = INPUT_SCHEMA_FILE,
                   misdirected: Misdirected | None = None) -> dict[str, Any]:
    """The body, when valid; else raise :class:`InputValidationError` listing every problem
    of the body, in the body's order (``messages[2]`` before ``messages[10]``), checked
    against the input schema of the action (`schemas/<schema_file>`). The signs that the
    body was meant for another action (`misdirected`) come first: they explain the rest.

    A body nested deeper than :data:`MAX_BODY_DEPTH` is refused first, with the place
    where it goes too deep: deeper JSON is no request a model takes, and walking it
    (validation, encoding) would exhaust Python's recursion limit.
    """
    if not isinstance(body, dict):
        raise InputValidationError(
            [f"the message body must be a JSON object, got {_type_name(body)}"]
        )
    too_deep = first_too_deep(body, MAX_BODY_DEPTH)
    if too_deep is not None:
        where = field_path(too_deep[:SHOWN_PATH_STEPS])
        if len(too_deep) > SHOWN_PATH_STEPS:
            where += "..."
        problem = (f"{where} is nested more than {MAX_BODY_DEPTH} levels deep "
                   "(the limit of a message body)")
        raise InputValidationError([problem])
    errors = sorted(
        input_validator(schema_file).iter_errors(body),
        key=lambda e: body_order(body, list(e.absolute_path)),
    )
    problems = (misdirected(body) if misdirected else []) + [describe(e) for e in errors]
    if problems:
        raise InputValidationError(problems)
    return body


# A path as a chain (key, parent's link): each child shares its parent's path.
_PathLink = tuple[Any, "_PathLink"] | None


def first_too_deep(document: Any, max_depth: int) -> list[Any] | None:
    """The path of the first value nested deeper than `max_depth` (the body itself is at
    depth 0), or None. Iterative, and each step's path shares its parent's: any depth and
    size is cheap to check."""
    pending: list[tuple[Any, int, _PathLink]] = [(document, 0, None)]
    while pending:
        value, depth, link = pending.pop()
        if isinstance(value, dict):
            children: Iterable[tuple[Any, Any]] = value.items()
        elif isinstance(value, list):
            children = enumerate(value)
        else:
            continue
        if depth >= max_depth:
            path: list[Any] = []
            while link is not None:
                key, link = link
                path.append(key)
            return path[::-1]
        pending.extend((child, depth + 1, (key, link)) for key, child in reversed(list(children)))
    return None


def body_order(body: Any, path: list[Any]) -> list[int]:
    """Where `path` lies in the body: each step's position among its siblings."""
    positions: list[int] = []
    value = body
    for step in path:
        if isinstance(value, dict):
            keys = list(value)
            positions.append(keys.index(step) if step in value else len(keys))
            value = value.get(step)
        elif isinstance(value, list) and isinstance(step, int):
            positions.append(step)
            value = value[step] if 0 <= step < len(value) else None
        else:
            positions.append(0)
            value = None
    return positions
