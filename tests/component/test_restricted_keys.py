"""Keys that may call models but not list them (restricted keys: 403 on GET /models):
verification accepts them and says so, the Model lists say where to type the id, and
Model ID (overrides the list) names the model of both actions."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import responses

from lib.actions import create_response, send_request
from lib.config import MODEL_ID_LABEL, parse_step_config
from lib.errors import ConfigError
from lib.openai.errors import PermissionDeniedError
from lib.responses.jobs import JobBook
from tests.support.action_support import (
    API_KEY,
    BASE_URL,
    COMPLETIONS_URL,
    MODELS_URL,
    FakeSelf,
    api_error,
    cfg,
    completion,
    run_process,
)
from tests.support.openai_standin import response_object

pytestmark = pytest.mark.usefixtures("fresh_clients")

ROOT = Path(__file__).resolve().parents[2]
RESPONSES_URL = f"{BASE_URL}/responses"
MISSING_SCOPE = api_error(
    "You have insufficient permissions for this operation. Missing scopes: api.model.read. "
    "Check that you have the correct role in your organization (Reader, Writer, Owner) and "
    "project (Member, Owner), and if you're using a restricted API key, that it has the "
    "necessary scopes.", error_type="invalid_request_error", code=None)
REGION = api_error("Country, region, or territory not supported",
                   error_type="request_forbidden", code="unsupported_country_region_territory")


def load_verify():
    spec = importlib.util.spec_from_file_location("verify_restricted_keys",
                                                  ROOT / "verifyCredentials.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.verify


verify = load_verify()


@responses.activate
def test_a_key_refused_only_the_model_list_is_verified_and_told_so() -> None:
    responses.get(MODELS_URL, status=403, json=MISSING_SCOPE)
    me = FakeSelf()
    result = verify(me, {"apiKey": API_KEY})
    assert result["verified"] is True
    assert "the key may not list models" in result["details"]
    assert "Missing scopes: api.model.read" in result["details"]
    assert f"type the model's id in '{MODEL_ID_LABEL}'" in result["details"]
    assert [level for level, line in me.logger.lines if "may not list models" in line] == [
        "warning"]
    assert API_KEY not in json.dumps(result) + me.logger.text()
    assert len(responses.calls) == 1


@responses.activate
def test_a_region_refusal_is_no_restricted_key_and_fails() -> None:
    responses.get(MODELS_URL, status=403, json=REGION)
    with pytest.raises(PermissionDeniedError, match="Country, region, or territory"):
        verify(FakeSelf(), {"apiKey": API_KEY})


@pytest.mark.parametrize("select", [send_request.getModels, create_response.getResponseModels])
@responses.activate
def test_the_model_lists_say_where_to_type_the_id(select) -> None:
    responses.get(MODELS_URL, status=403, json=MISSING_SCOPE)
    with pytest.raises(PermissionDeniedError) as caught:
        select(FakeSelf(), cfg())
    assert str(caught.value).startswith("You have insufficient permissions")
    assert f"type the model's id in '{MODEL_ID_LABEL}'" in str(caught.value)


@pytest.mark.parametrize(("fields", "model"), [
    ({"modelId": "gpt-5-mini"}, "gpt-5-mini"),                      # the list stayed empty
    ({"model": "gpt-4o", "modelId": " ft:gpt-4o:acme::x1 "}, "ft:gpt-4o:acme::x1"),  # wins
    ({"model": "gpt-4o", "modelId": "  "}, "gpt-4o"),                # blank: the list's
])
def test_model_id_overrides_the_list(fields: dict, model: str) -> None:
    assert parse_step_config({"apiKey": API_KEY, **fields}).model == model


def test_without_either_the_error_names_both_fields() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_step_config({"apiKey": API_KEY})
    assert str(caught.value) == ("Model is required: pick one in the Model list, or type its "
                                 f"id in '{MODEL_ID_LABEL}'")


@responses.activate
def test_send_request_sends_the_typed_model() -> None:
    responses.post(COMPLETIONS_URL, json=completion("Hi"))
    config = {"apiKey": API_KEY, "modelId": "gpt-4.1-restricted"}
    result = run_process(send_request.process, FakeSelf(), {"body": {"messages": [
        {"role": "user", "content": "Hi"}]}}, config, {})
    assert result["body"]["choices"][0]["message"]["content"] == "Hi"
    (call,) = responses.calls  # no GET /models on the way
    assert json.loads(call.request.body)["model"] == "gpt-4.1-restricted"


@responses.activate
def test_create_response_sends_the_typed_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(create_response, "JOBS", JobBook())
    responses.post(RESPONSES_URL, json=response_object("gpt-5-mini", "Hi"))
    config = {"apiKey": API_KEY, "model": "gpt-4o", "modelId": "gpt-5-mini"}
    result = run_process(create_response.process, FakeSelf(), {"id": "m1", "body": {"input": "Hi"}},
                                     config, {})
    assert result["body"]["output_text"] == "Hi"
    (call,) = responses.calls
    assert json.loads(call.request.body)["model"] == "gpt-5-mini"
