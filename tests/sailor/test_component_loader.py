"""component_loader.py: root joining, component.json, resolution and error texts
(docs/protocol.md#component-layout)."""

from __future__ import annotations

from pathlib import Path

import pytest
from elasticio_sailor.component_loader import ComponentLoader, ComponentLoadError, component_root

COMPONENTS = Path(__file__).parent / "components"


@pytest.mark.parametrize(
    ("component_path", "expected"),
    [(None, "/x"), ("", "/x"), ("/sub", "/x/sub"), ("sub/dir", "/x/sub/dir"), ("//a", "/x/a")],
)
def test_component_path_is_joined_as_relative(component_path, expected):
    assert component_root("/x", component_path) == Path(expected)


def test_component_json_failure_names_the_root(tmp_path):
    with pytest.raises(ComponentLoadError) as caught:
        _ = ComponentLoader(tmp_path).component_json
    assert str(caught.value) == f"Failed to load component.json from {tmp_path.resolve()}"
    (tmp_path / "component.json").write_text("{not json")
    with pytest.raises(ComponentLoadError, match=r"^Failed to load component\.json from "):
        _ = ComponentLoader(tmp_path).component_json


def test_triggers_are_looked_up_before_actions():
    loader = ComponentLoader(COMPONENTS / "loader_basic")
    assert loader.definition("both")["main"] == "./loaderlib/actions/tick.py"
    assert loader.definition("echo")["main"] == "./loaderlib/actions/echo.py"


def test_unknown_function():
    loader = ComponentLoader(COMPONENTS / "loader_basic")
    with pytest.raises(ComponentLoadError) as caught:
        loader.definition("nope")
    assert str(caught.value) == 'Trigger or action "nope" is not found in component.json!'


def test_module_is_loaded_with_root_on_sys_path_and_relative_imports():
    loader = ComponentLoader(COMPONENTS / "loader_basic")
    module = loader.load_module("echo")
    assert module.__name__ == "loaderlib.actions.echo"
    result = module.process(None, {"body": {"text": "hi"}}, {}, {})
    assert result == {"body": {"echo": "HI", "tick": "tick"}}


def test_missing_main_file():
    loader = ComponentLoader(COMPONENTS / "loader_basic")
    with pytest.raises(ComponentLoadError) as caught:
        loader.load_module("missing")
    assert str(caught.value).startswith(
        "Failed to load file './loaderlib/actions/does_not_exist.py': Cannot find module '"
    )


@pytest.mark.parametrize("name", ["broken", "badDependency"])
def test_main_file_that_fails_to_import(name):
    loader = ComponentLoader(COMPONENTS / "loader_basic")
    main = loader.definition(name)["main"]
    with pytest.raises(ComponentLoadError) as caught:
        loader.load_module(name)
    assert str(caught.value) == (
        f"Trigger or action '{name}' is found, but can not be loaded. "
        f"Please check if the file '{main}' is correct."
    )
    assert caught.value.__cause__ is not None


def test_the_verifier_is_found_and_called():
    verify = ComponentLoader(COMPONENTS / "loader_basic").load_verifier()
    assert verify(None, {"apiKey": "good"}) == {"verified": True}


def test_no_verifier_file_means_none(tmp_path):
    assert ComponentLoader(tmp_path).load_verifier() is None


def test_broken_verifier_is_an_error_not_a_silent_success():
    with pytest.raises(ComponentLoadError, match="no_such_dependency_xyz"):
        ComponentLoader(COMPONENTS / "loader_broken_verifier").load_verifier()


def test_verifier_without_function(tmp_path):
    (tmp_path / "verifyCredentials.py").write_text("X = 1\n")
    with pytest.raises(ComponentLoadError, match="has no function 'verify'"):
        ComponentLoader(tmp_path).load_verifier()
