"""What component.json publishes as metadata: the platform's dialect only, made from the
validation schemas by scripts/make_metadata.py, and never out of date."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.make_metadata import (
    DIALECT_KEYS,
    PUBLISHED,
    TYPES,
    MetadataError,
    main,
    published_files,
    stale,
    to_dialect,
    waiting_schemas,
)

ROOT = Path(__file__).resolve().parent.parent
COMPONENT = json.loads((ROOT / "component.json").read_text(encoding="utf-8"))
FUNCTIONS = {**COMPONENT.get("triggers", {}), **COMPONENT.get("actions", {})}


def published() -> list[tuple[str, str, dict]]:
    return [(function_id, direction, json.loads((ROOT / path).read_text(encoding="utf-8")))
            for function_id, definition in FUNCTIONS.items()
            for direction, path in definition["metadata"].items()]


def nodes(schema: dict, path: str = ""):
    yield path or "(root)", schema
    for name, sub in schema.get("properties", {}).items():
        yield from nodes(sub, f"{path}.{name}".lstrip("."))
    if "items" in schema:
        yield from nodes(schema["items"], f"{path}[]")


def test_the_published_files_are_what_the_script_makes():
    changed, leftover = stale(published_files())
    assert changed == [], "run: .venv/bin/python scripts/make_metadata.py"
    assert leftover == []


def test_the_script_checks_from_the_command_line():
    done = subprocess.run([sys.executable, "scripts/make_metadata.py", "--check"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr


def test_every_action_publishes_the_reduced_copy_of_its_schemas():
    for function_id, definition in FUNCTIONS.items():
        assert definition["metadata"] == {
            direction: f"./{PUBLISHED}/{function_id}.{direction}.json"
            for direction in ("in", "out")}
        for direction in ("in", "out"):
            assert (ROOT / "schemas" / f"{function_id}.{direction}.json").is_file()


@pytest.mark.parametrize(("function_id", "direction", "schema"), published(),
                         ids=[f"{f}.{d}" for f, d, _ in published()])
def test_published_metadata_speaks_the_dialect_only(function_id, direction, schema):
    full = json.loads((ROOT / "schemas" / f"{function_id}.{direction}.json").read_text())
    full_paths = {path for path, _ in nodes(full)}
    for path, node in nodes(schema):
        assert set(node) <= set(DIALECT_KEYS), path
        assert node["type"] in TYPES, path
        assert node.get("required", True) is True, path
        assert set(node.get("help", {})) <= {"description", "link"}, path
        assert all(isinstance(value, str | int | float) for value in node.get("enum", [])), path
        assert path in full_paths, f"{path} is not in the validation schema"
    assert schema["type"] == "object"
    assert schema["title"] == full["title"]


def test_the_published_input_keeps_the_fields_users_map():
    [(_, _, send)] = [(f, d, s) for f, d, s in published() if (f, d) == ("sendRequest", "in")]
    message = send["properties"]["messages"]
    assert message["required"] is True
    assert message["items"]["properties"]["role"]["enum"][:3] == ["developer", "system", "user"]
    assert message["items"]["properties"]["content"]["type"] == "string"  # 1.0.0's form


# --- the reduction, rule by rule ---------------------------------------------------------

def test_a_union_type_becomes_its_first_type_other_than_null():
    reduced = to_dialect({"type": "object", "properties": {
        "content": {"type": ["string", "array", "null"], "items": {"type": "object"}},
        "stop": {"type": ["null", "array"], "items": {"type": "string"}},
        "parsed": {"title": "Any JSON"}}})
    assert reduced["properties"] == {
        "content": {"type": "string"},  # the array's items describe another type: dropped
        "stop": {"type": "array", "items": {"type": "string"}},
        "parsed": {"type": "object", "title": "Any JSON"}}


def test_only_unconditional_requirements_are_published_as_required_true():
    reduced = to_dialect({
        "type": "object", "required": ["a"],
        "properties": {"a": {"type": "string"}, "b": {"type": "string", "required": True},
                       "c": {"type": "string"}, "d": {"type": "string", "required": False}},
        "anyOf": [{"required": ["c"]}], "if": {"required": ["a"]}, "then": {"required": ["d"]},
        "allOf": [{"not": {"required": ["b"]}}]})
    assert reduced == {"type": "object", "properties": {
        "a": {"type": "string", "required": True}, "b": {"type": "string", "required": True},
        "c": {"type": "string"}, "d": {"type": "string"}}}


def test_keywords_outside_the_dialect_are_dropped_and_descriptions_become_help():
    reduced = to_dialect({"type": "object", "title": "T", "description": "What it is",
                          "additionalProperties": False, "minProperties": 1,
                          "properties": {"n": {"type": "integer", "minimum": 1, "default": 3,
                                               "help": {"description": "How many"}}}})
    assert reduced == {"type": "object", "title": "T", "help": {"description": "What it is"},
                       "properties": {"n": {"type": "integer",
                                            "help": {"description": "How many"}}}}


def test_enums_keep_the_values_of_the_published_type():
    reduced = to_dialect({"type": "object", "properties": {
        "detail": {"type": ["string", "null"], "enum": ["auto", "low", None]},
        "kind": {"type": "string", "const": "text"},
        "mixed": {"type": ["string", "object"], "enum": ["auto", {"type": "x"}]},
        "flag": {"type": "integer", "enum": [True, 1]}}})
    assert reduced["properties"] == {
        "detail": {"type": "string", "enum": ["auto", "low"]},
        "kind": {"type": "string", "enum": ["text"]},
        "mixed": {"type": "string"}, "flag": {"type": "integer"}}


def test_local_references_are_written_out():
    reduced = to_dialect({"$defs": {"address": {"type": "object", "properties": {
        "city": {"type": "string", "required": True}}}},
        "type": "object", "properties": {"billing": {"$ref": "#/$defs/address",
                                                     "title": "Billing address"}}})
    assert reduced["properties"]["billing"] == {
        "type": "object", "title": "Billing address",
        "properties": {"city": {"type": "string", "required": True}}}


@pytest.mark.parametrize(("schema", "message"), [
    ({"type": "object", "properties": {"x": {"$ref": "other.json#/a"}}}, "x: only local"),
    ({"type": "object", "properties": {"x": {"$ref": "#/$defs/none"}}}, "x: #/$defs/none does"),
    ({"$defs": {"n": {"type": "object", "properties": {"next": {"$ref": "#/$defs/n"}}}},
      "type": "object", "properties": {"head": {"$ref": "#/$defs/n"}}}, "head.next: #/$defs/n"),
    ({"type": "object", "properties": {"x": {"type": "date"}}}, "x: unknown type 'date'"),
])
def test_what_the_dialect_cannot_say_is_refused_with_its_place(schema, message):
    with pytest.raises(MetadataError, match=message.replace("$", r"\$")):
        to_dialect(schema)


# --- a new action: its schemas are picked up by name --------------------------------------

@pytest.fixture
def repo(tmp_path) -> Path:
    (tmp_path / "schemas").mkdir()
    component = {"title": "T", "actions": {"embed": {"title": "Embed", "main": "./a.py"}}}
    (tmp_path / "component.json").write_text(json.dumps(component))
    schema = {"type": "object", "title": "Embeddings request", "properties": {
        "input": {"type": ["string", "array"], "required": True}}}
    (tmp_path / "schemas" / "embed.in.json").write_text(json.dumps(schema))
    return tmp_path


def write(files: dict[Path, str]) -> None:
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_a_new_actions_schema_is_published_and_named_in_component_json(repo):
    files = published_files(repo)
    assert set(files) == {repo / "component.json", repo / PUBLISHED / "embed.in.json"}
    assert json.loads(files[repo / "component.json"])["actions"]["embed"]["metadata"] == {
        "in": f"./{PUBLISHED}/embed.in.json"}
    assert json.loads(files[repo / PUBLISHED / "embed.in.json"])["properties"] == {
        "input": {"type": "string", "required": True}}
    write(files)
    assert stale(published_files(repo), repo) == ([], [])
    (repo / "schemas" / "embed.in.json").unlink()
    write(published_files(repo))
    assert stale(published_files(repo), repo) == ([], [repo / PUBLISHED / "embed.in.json"])


def test_a_schema_whose_action_is_not_in_component_json_yet_waits(repo):
    shutil.copy(repo / "schemas" / "embed.in.json", repo / "schemas" / "images.in.json")
    assert repo / PUBLISHED / "images.in.json" not in published_files(repo)
    assert waiting_schemas(repo) == ["schemas/images.in.json"]
    component = json.loads((repo / "component.json").read_text())
    component["actions"]["images"] = {"title": "Images", "main": "./b.py"}
    (repo / "component.json").write_text(json.dumps(component))
    assert repo / PUBLISHED / "images.in.json" in published_files(repo)
    assert waiting_schemas(repo) == []


def test_a_schema_file_named_otherwise_is_refused(repo):
    shutil.copy(repo / "schemas" / "embed.in.json", repo / "schemas" / "embed.request.json")
    with pytest.raises(MetadataError, match=r"name it <action id>\.in\.json"):
        published_files(repo)


def test_check_mode_reports_and_writes_nothing(monkeypatch, tmp_path, capsys):
    target = tmp_path / "component.json"
    monkeypatch.setattr("scripts.make_metadata.published_files", lambda: {target: "{}\n"})
    monkeypatch.setattr("scripts.make_metadata.stale", lambda files: ([target], []))
    monkeypatch.setattr("scripts.make_metadata.ROOT", tmp_path)
    assert main(["--check"]) == 1
    assert "out of date: component.json" in capsys.readouterr().err
    assert not target.exists()
