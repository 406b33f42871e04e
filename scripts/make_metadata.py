"""Write the metadata component.json publishes, from the validation schemas.

`schemas/<id>.in.json` and `schemas/<id>.out.json` are the full schemas: JSON Schema
(`anyOf`, `if`/`then`, union types, bounds) plus the platform's `required: true` on a
property; the component validates with them. The platform's mapper renders a small
dialect only, so what component.json publishes as an action's `metadata.in`/`out` is
`schemas/metadata/<id>.in.json`/`.out.json`: the same tree reduced to that dialect (see
docs/metadata.md#the-dialect). Run after changing a schema or adding an action:

    .venv/bin/python scripts/make_metadata.py          # writes the files and component.json
    .venv/bin/python scripts/make_metadata.py --check  # exit 1 if anything would change

Standard library only.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = "schemas"
PUBLISHED = "schemas/metadata"
DIRECTIONS = ("in", "out")
# The keywords of the platform's dialect, in the order they are written.
DIALECT_KEYS = ("type", "title", "required", "enum", "help", "properties", "items")
TYPES = ("object", "array", "string", "number", "integer", "boolean")
_ENUM_VALUE_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "number": (int, float), "integer": (int,), "boolean": (bool,),
}
MAX_DEPTH = 64


class MetadataError(ValueError):
    """A schema the dialect cannot express; the message names the place."""


def _resolve(schema: dict[str, Any], root: dict[str, Any], seen: tuple[str, ...],
             where: str) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The schema with a local `$ref` (`#/...`) followed; refs outside the file are refused."""
    while "$ref" in schema:
        ref = schema["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/"):
            raise MetadataError(f"{where}: only local references (#/...) can be published, "
                                f"got {ref!r}")
        if ref in seen:
            raise MetadataError(f"{where}: {ref} refers to itself; the dialect has no recursion")
        target: Any = root
        for escaped in ref[2:].split("/"):
            part = escaped.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, dict) or part not in target:
                raise MetadataError(f"{where}: {ref} does not exist")
            target = target[part]
        if not isinstance(target, dict):
            raise MetadataError(f"{where}: {ref} is not a schema")
        schema, seen = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}, (*seen, ref)
    return schema, seen


def _type_of(schema: dict[str, Any], where: str) -> str:
    """One type: the first listed that is not null (a union's first is the mapper's). A
    node of any type (none listed) is an object, unless it has items: what the mapper can
    map from or into as a whole (elastic.io's REST component does the same for a body)."""
    declared = schema.get("type")
    listed = declared if isinstance(declared, list) else [declared] if declared else []
    candidates = [t for t in listed if t != "null"]
    if not candidates:
        return "array" if "items" in schema and "properties" not in schema else "object"
    if candidates[0] not in TYPES:
        raise MetadataError(f"{where}: unknown type {candidates[0]!r}")
    return str(candidates[0])


def _help(schema: dict[str, Any]) -> dict[str, Any] | None:
    help_ = schema.get("help")
    if isinstance(help_, dict) and help_:
        return dict(help_)
    if isinstance(schema.get("description"), str) and schema["description"]:
        return {"description": schema["description"]}
    return None


def _enum(schema: dict[str, Any], type_: str) -> list[Any] | None:
    values = schema["enum"] if isinstance(schema.get("enum"), list) else (
        [schema["const"]] if "const" in schema else None)
    kinds = _ENUM_VALUE_TYPES.get(type_)
    if values is None or kinds is None:
        return None
    kept = [v for v in values if v is not None]
    if not kept or not all(isinstance(v, kinds) and (type_ == "boolean" or
                                                     not isinstance(v, bool)) for v in kept):
        return None
    return kept


def _required_names(schema: dict[str, Any]) -> set[str]:
    """Properties required without a condition: `required: [..]` here, or `required: true`
    on the property itself."""
    names = set(schema["required"]) if isinstance(schema.get("required"), list) else set()
    for name, sub in (schema.get("properties") or {}).items():
        if isinstance(sub, dict) and sub.get("required") is True:
            names.add(name)
    return names


def _child(where: str, name: str) -> str:
    return name if where == "(root)" else f"{where}.{name}"


def to_dialect(schema: Any, *, root: Any = None, where: str = "(root)",
               seen: tuple[str, ...] = (), required: bool = False,
               depth: int = 0) -> dict[str, Any]:
    """One schema node reduced to the platform's dialect (see the module docstring)."""
    if depth > MAX_DEPTH:
        raise MetadataError(f"{where}: nested deeper than {MAX_DEPTH} levels")
    if not isinstance(schema, dict):
        raise MetadataError(f"{where}: a schema must be an object")
    root = schema if root is None else root
    schema, seen = _resolve(schema, root, seen, where)
    type_ = _type_of(schema, where)
    node: dict[str, Any] = {"type": type_}
    if isinstance(schema.get("title"), str):
        node["title"] = schema["title"]
    if required:
        node["required"] = True
    enum = _enum(schema, type_)
    if enum is not None:
        node["enum"] = enum
    help_ = _help(schema)
    if help_ is not None:
        node["help"] = help_
    if type_ == "object" and isinstance(schema.get("properties"), dict):
        must = _required_names(schema)
        node["properties"] = {
            name: to_dialect(sub, root=root, where=_child(where, name),
                             seen=seen, required=name in must, depth=depth + 1)
            for name, sub in schema["properties"].items()
        }
    if type_ == "array" and isinstance(schema.get("items"), dict):
        node["items"] = to_dialect(schema["items"], root=root, where=f"{where}[]", seen=seen,
                                   depth=depth + 1)
    return {key: node[key] for key in DIALECT_KEYS if key in node}


def dump(document: Any) -> str:
    """How the repository writes JSON: two-space indents, UTF-8, a final newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def waiting_schemas(root: Path = ROOT) -> list[str]:
    """The schema files of actions that component.json does not have (yet): not published."""
    component = json.loads((root / "component.json").read_text(encoding="utf-8"))
    functions = {**component.get("triggers", {}), **component.get("actions", {})}
    return [f"{SCHEMAS}/{source.name}" for source in sorted((root / SCHEMAS).glob("*.json"))
            if source.name.removesuffix(".json").rpartition(".")[0] not in functions]


def published_files(root: Path = ROOT) -> dict[Path, str]:
    """Every file this script writes, with its text: the reduced schemas, component.json.
    A schema of an action that component.json does not have yet is left out (see
    :func:`waiting_schemas`): its metadata is published once the action is added."""
    component_path = root / "component.json"
    component = json.loads(component_path.read_text(encoding="utf-8"))
    functions = {**component.get("triggers", {}), **component.get("actions", {})}
    files: dict[Path, str] = {}
    for source in sorted((root / SCHEMAS).glob("*.json")):
        function_id, _, direction = source.name.removesuffix(".json").rpartition(".")
        if direction not in DIRECTIONS or not function_id:
            raise MetadataError(f"{SCHEMAS}/{source.name}: name it <action id>.in.json or "
                                f"<action id>.out.json")
        if function_id not in functions:
            continue
        schema = json.loads(source.read_text(encoding="utf-8"))
        try:
            reduced = to_dialect(schema)
        except MetadataError as exc:
            raise MetadataError(f"{SCHEMAS}/{source.name}: {exc}") from exc
        target = f"{PUBLISHED}/{source.name}"
        files[root / target] = dump(reduced)
        functions[function_id].setdefault("metadata", {})[direction] = f"./{target}"
    files[component_path] = dump(component)
    return files


def stale(files: dict[Path, str], root: Path = ROOT) -> tuple[list[Path], list[Path]]:
    """The files whose text on disk differs from what the script would write, and the
    published files no schema makes any more."""
    changed = [path for path, text in files.items()
               if not path.is_file() or path.read_text(encoding="utf-8") != text]
    leftover = [path for path in sorted((root / PUBLISHED).glob("*.json")) if path not in files]
    return changed, leftover


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when a published file is out of date")
    args = parser.parse_args(argv)
    try:
        files = published_files()
    except MetadataError as exc:
        print(f"make_metadata: {exc}", file=sys.stderr)
        return 2
    changed, leftover = stale(files)
    for name in waiting_schemas():
        print(f"make_metadata: {name}: no such action in component.json yet; not published",
              file=sys.stderr)
    if args.check:
        for path in changed:
            print(f"make_metadata: out of date: {path.relative_to(ROOT)}", file=sys.stderr)
        for path in leftover:
            print(f"make_metadata: no schema makes {path.relative_to(ROOT)}", file=sys.stderr)
        return 1 if changed or leftover else 0
    for path in changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[path], encoding="utf-8")
        print(f"make_metadata: wrote {path.relative_to(ROOT)}")
    for path in leftover:
        path.unlink()
        print(f"make_metadata: removed {path.relative_to(ROOT)}")
    if not changed and not leftover:
        print("make_metadata: up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
