"""The component's environment variables: the README's table, component.json's envVars and
the variables the code reads name the same set."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from elasticio_sailor.settings import load_task_settings

from tests.sailor.test_settings import std_env

ROOT = Path(__file__).resolve().parent.parent
ENV_NAME = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")
# Read by the component but not the operator's to set: the platform sets the object
# storage's pair; the CA bundle variables are the HTTP library's own convention.
PLATFORM_SET = {"ELASTICIO_OBJECT_STORAGE_URI", "ELASTICIO_OBJECT_STORAGE_TOKEN"}
LIBRARY_CONVENTIONS = {"REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"}
# The sailor's settings in envVars, each with a value that differs from its default.
SAILOR_SAMPLES = {"ELASTICIO_SHUTDOWN_GRACE_S": "7"}


def declared() -> dict[str, dict]:
    return json.loads((ROOT / "component.json").read_text(encoding="utf-8"))["envVars"]


def readme_table() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Environment variables\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([A-Z0-9_]+)` \|", section, flags=re.MULTILINE)


def _is_environ(node: ast.expr) -> bool:
    return "environ" in ast.unparse(node) or ast.unparse(node) == "os"


def variables_the_component_reads() -> set[str]:
    """Names in lib/ read from an environment: `environ.get("X")`, `environ["X"]`,
    `os.getenv("X")`, or handed to a helper with it (`seconds(environ, "X")`), written
    out or through a module constant."""
    found: set[str] = set()
    for path in sorted((ROOT / "lib").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = {
            target.id: node.value.value
            for node in ast.walk(tree) if isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
            for target in node.targets if isinstance(target, ast.Name)
        }
        for node in ast.walk(tree):
            keys: list[ast.expr] = []
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("get", "getenv") and _is_environ(node.func.value)
                    and node.args):
                keys = [node.args[0]]
            elif isinstance(node, ast.Call) and any(_is_environ(a) for a in node.args):
                keys = list(node.args)
            elif isinstance(node, ast.Subscript) and _is_environ(node.value):
                keys = [node.slice]
            for key in keys:
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    found.add(key.value)
                elif isinstance(key, ast.Name) and key.id in constants:
                    found.add(constants[key.id])
    return {name for name in found if ENV_NAME.match(name)}


def test_the_readme_lists_what_component_json_declares():
    assert readme_table() == list(declared())


def test_every_declared_variable_is_optional_and_described():
    for name, spec in declared().items():
        assert ENV_NAME.match(name), name
        assert spec["required"] is False, name
        assert len(spec["description"]) > 20, name
        assert set(spec) == {"required", "description"}, name


def test_the_component_reads_exactly_the_declared_variables_besides_the_platforms():
    reads = variables_the_component_reads()
    assert reads >= PLATFORM_SET | LIBRARY_CONVENTIONS  # the scan sees them all
    declared_for_the_component = set(declared()) - set(SAILOR_SAMPLES)
    assert reads - PLATFORM_SET - LIBRARY_CONVENTIONS == declared_for_the_component


def test_the_declared_sailor_settings_change_the_sailors_settings():
    assert {name for name in declared() if name.startswith("ELASTICIO_")} == set(SAILOR_SAMPLES)
    default = load_task_settings(std_env())
    for name, sample in SAILOR_SAMPLES.items():
        assert load_task_settings(std_env(**{name: sample})) != default, name
