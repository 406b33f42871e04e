"""component.json by the platform's rules, resolved the way our sailor resolves it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from elasticio_sailor.component_loader import ComponentLoader
from jsonschema import Draft202012Validator

from lib.config import (
    MODEL_FIELD,
    MODEL_ID_FIELD,
    MODEL_ID_LABEL,
    ON_API_ERROR_CHOICES,
    ON_API_ERROR_FIELD,
    RAISE,
)
from lib.validation import to_json_schema

ROOT = Path(__file__).resolve().parents[2]
COMPONENT = json.loads((ROOT / "component.json").read_text(encoding="utf-8"))
# The view classes the platform documents (plus the platform's special ones).
KNOWN_VIEW_CLASSES = {
    "TextFieldView", "TextAreaView", "CheckBoxView", "SelectView", "MultiSelectView",
    "PasswordFieldView", "OAuthFieldView", "HTTPAuthView", "RESTAPIView", "CodeFieldView",
    "JSONataView", "TextFieldWithNoteView", "SelectPropertyView",
}
ID_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
FUNCTIONS = {**COMPONENT.get("triggers", {}), **COMPONENT.get("actions", {})}


def all_fields() -> list[tuple[str, str, dict]]:
    found = [("credentials", name, f) for name, f in COMPONENT["credentials"]["fields"].items()]
    for function_id, definition in FUNCTIONS.items():
        found += [(function_id, name, f) for name, f in definition.get("fields", {}).items()]
    return found


def test_the_component_has_a_title_a_semantic_version_and_its_actions() -> None:
    assert COMPONENT["title"] == "ChatGPT"
    # semantic version; tests/test_repository.py ties it to the newest CHANGELOG entry
    assert re.fullmatch(r"\d+\.\d+\.\d+", COMPONENT["version"])
    assert COMPONENT["description"]
    assert "triggers" not in COMPONENT  # no triggers: the key is left out, not empty
    assert {"sendRequest", "createResponse", "createEmbeddings", "moderate"} <= set(
        COMPONENT["actions"])


def test_the_api_key_is_a_required_password_and_the_base_url_optional() -> None:
    fields = COMPONENT["credentials"]["fields"]
    assert fields["apiKey"]["viewClass"] == "PasswordFieldView"
    assert fields["apiKey"]["required"] is True
    assert fields["baseUrl"]["label"] == "API base URL"
    assert fields["baseUrl"]["required"] is False
    assert fields["baseUrl"]["placeholder"] == "https://api.openai.com/v1"


def test_send_request_has_its_main_file_and_its_fields() -> None:
    action = COMPONENT["actions"]["sendRequest"]
    assert action["title"] == "Send Request"
    assert action["main"] == "./lib/actions/send_request.py"
    fields = action["fields"]
    assert set(fields) == {"model", "modelId", "organization", "project", "requestTimeout",
                           "onApiError"}
    assert fields["model"] | {"viewClass": "SelectView", "model": "getModels",
                              "required": False} == fields["model"]
    for optional in ("modelId", "organization", "project", "requestTimeout"):
        assert fields[optional]["required"] is False
    assert "900" in fields["requestTimeout"]["note"]  # the named maximum is documented


@pytest.mark.parametrize("function_id", list(FUNCTIONS))
def test_a_model_list_comes_with_model_id_and_neither_is_required(function_id: str) -> None:
    """A key that may not list models gets an empty list: the step must still be savable,
    with the model typed into Model ID (lib.config reads it first)."""
    fields = FUNCTIONS[function_id].get("fields", {})
    if MODEL_FIELD not in fields:
        return
    assert fields[MODEL_FIELD]["viewClass"] == "SelectView"
    assert fields[MODEL_FIELD]["required"] is False
    typed = fields[MODEL_ID_FIELD]
    assert typed | {"label": MODEL_ID_LABEL, "viewClass": "TextFieldView",
                    "required": False} == typed
    assert typed["order"] < fields[MODEL_FIELD]["order"]  # shown right below the list


@pytest.mark.parametrize("function_id", list(FUNCTIONS))
def test_every_action_has_on_api_error_with_the_choices_the_config_reads(function_id: str
                                                                       ) -> None:
    field = FUNCTIONS[function_id]["fields"][ON_API_ERROR_FIELD]
    assert field | {"label": "On API error", "viewClass": "SelectView",
                    "required": False} == field
    assert tuple(field["model"]) == ON_API_ERROR_CHOICES
    assert field["prompt"] == field["model"][RAISE]  # blank is the default


@pytest.mark.parametrize(("where", "name", "field"), all_fields())
def test_every_field_has_a_known_view_class_and_a_label(where: str, name: str, field: dict) -> None:
    assert ID_PATTERN.match(name), name
    assert field["viewClass"] in KNOWN_VIEW_CLASSES
    assert isinstance(field["label"], str)
    assert field["label"]
    assert isinstance(field.get("required", False), bool)
    if field["viewClass"] == "SelectView":
        assert isinstance(field["model"], str | dict)


@pytest.mark.parametrize("function_id", list(FUNCTIONS))
def test_every_function_resolves(function_id: str) -> None:
    assert ID_PATTERN.match(function_id)
    definition = FUNCTIONS[function_id]
    main = definition["main"]
    assert main.startswith("./")
    assert main.endswith(".py")
    assert (ROOT / main).is_file()
    module = ComponentLoader(ROOT).load_module(function_id)
    assert callable(module.process)
    assert callable(module.init)  # the sailor's start-up hook: compiles the input schema
    for field in definition.get("fields", {}).values():
        if field["viewClass"] in ("SelectView", "MultiSelectView") and isinstance(
            field["model"], str
        ):
            assert callable(getattr(module, field["model"], None)), field["model"]


@pytest.mark.parametrize("function_id", list(FUNCTIONS))
def test_every_schema_file_parses_and_is_a_schema(function_id: str) -> None:
    metadata = FUNCTIONS[function_id]["metadata"]
    assert set(metadata) <= {"in", "out"}
    for path in metadata.values():
        assert path.startswith("./")
        schema = json.loads((ROOT / path).read_text(encoding="utf-8"))
        assert schema["type"] == "object"
        Draft202012Validator.check_schema(to_json_schema(schema))


def test_the_verifier_loads() -> None:
    verifier = ComponentLoader(ROOT).load_verifier()
    assert verifier is not None
    assert verifier.__name__ == "verify"


@pytest.mark.parametrize(("action_id", "main", "select"), [
    ("createEmbeddings", "./lib/actions/create_embeddings.py", "getEmbeddingModels"),
    ("moderate", "./lib/actions/moderate.py", "getModerationModels"),
])
def test_the_one_kind_actions_have_the_send_request_fields(action_id, main, select) -> None:
    action = COMPONENT["actions"][action_id]
    assert action["main"] == main
    fields = action["fields"]
    assert set(fields) == {"model", "modelId", "organization", "project", "requestTimeout",
                           "onApiError"}
    assert fields["model"] | {"viewClass": "SelectView", "model": select,
                              "required": False} == fields["model"]
    send_request = COMPONENT["actions"]["sendRequest"]["fields"]
    assert fields["modelId"] | {"placeholder": ""} == send_request["modelId"] | {
        "placeholder": ""}
    for same in ("organization", "project"):
        assert fields[same] == send_request[same]
    assert fields["requestTimeout"]["required"] is False
    assert "900" in fields["requestTimeout"]["note"]
    assert action["metadata"] == {"in": f"./schemas/metadata/{action_id}.in.json",
                                  "out": f"./schemas/metadata/{action_id}.out.json"}
