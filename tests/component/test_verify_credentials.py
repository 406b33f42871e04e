"""verifyCredentials: one GET /models; verified, or the API's reason."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import requests
import responses

from lib.actions import send_request
from lib.errors import ConfigError
from lib.openai.errors import APIConnectionError, AuthenticationError, NotFoundError
from tests.support.action_support import (
    API_KEY,
    MODELS_URL,
    FakeSelf,
    api_error,
    cfg,
    model_entry,
)

pytestmark = pytest.mark.usefixtures("fresh_clients")

ROOT = Path(__file__).resolve().parents[2]
COMPONENT = json.loads((ROOT / "component.json").read_text(encoding="utf-8"))


def load_verify():
    spec = importlib.util.spec_from_file_location("verify_credentials_under_test",
                                                  ROOT / "verifyCredentials.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.verify


verify = load_verify()


@responses.activate
def test_verified_with_one_call() -> None:
    responses.add(responses.GET, MODELS_URL, json={"object": "list", "data": [
        model_entry("gpt-4o")]})
    me = FakeSelf()
    assert verify(me, {"apiKey": API_KEY}) == {"verified": True}
    assert len(responses.calls) == 1
    assert responses.calls[0].request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert API_KEY not in me.logger.text()


@responses.activate
def test_a_custom_base_url_is_asked_for_its_models() -> None:
    url = "https://acme.openai.azure.com/openai/v1/models"
    responses.add(responses.GET, url, json={"object": "list", "data": []})
    assert verify(FakeSelf(), {"apiKey": API_KEY,
                               "baseUrl": "https://acme.openai.azure.com/openai/v1/"}) == {
        "verified": True}


@responses.activate
def test_a_wrong_key_fails_at_once_without_echoing_it() -> None:
    responses.add(responses.GET, MODELS_URL, status=401, json=api_error(
        f"Incorrect API key provided: {API_KEY}.", error_type="invalid_request_error",
        code="invalid_api_key"))
    with pytest.raises(AuthenticationError) as caught:
        verify(FakeSelf(), {"apiKey": API_KEY})
    assert "Incorrect API key provided" in str(caught.value)
    assert API_KEY not in str(caught.value)
    assert len(responses.calls) == 1  # not retried


@responses.activate
def test_a_wrong_organization_shows_in_the_steps_model_list_not_in_verification() -> None:
    """Organization is a step field: the platform's credentials have none, so verification
    cannot check it; the step's Model list is loaded with it and shows the refusal."""
    assert "organization" not in COMPONENT["credentials"]["fields"]
    responses.add(responses.GET, MODELS_URL, status=401, json=api_error(
        "You must be a member of an organization to use the API. Please contact us through "
        "our help center at help.openai.com.", error_type="invalid_request_error",
        code="no_such_organization"))
    with pytest.raises(AuthenticationError, match="member of an organization"):
        send_request.getModels(FakeSelf(), cfg(organization="org-wrong"))
    assert responses.calls[0].request.headers["OpenAI-Organization"] == "org-wrong"


@responses.activate
def test_an_unreachable_base_url_names_its_host() -> None:
    url = "https://llm.invalid/v1/models"
    responses.add(responses.GET, url, body=requests.ConnectionError("Name or service not known"))
    with pytest.raises(APIConnectionError) as caught:
        verify(FakeSelf(), {"apiKey": API_KEY, "baseUrl": "https://llm.invalid/v1"})
    assert "llm.invalid" in str(caught.value)


@responses.activate
def test_a_base_url_that_is_no_api_is_not_found() -> None:
    url = "https://example.com/models"
    responses.add(responses.GET, url, status=404, body="<html>Not Found</html>")
    with pytest.raises(NotFoundError) as caught:
        verify(FakeSelf(), {"apiKey": API_KEY, "baseUrl": "https://example.com"})
    assert "base URL, which probably lacks /v1" in str(caught.value)


def test_a_blank_key_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="API Key is required"):
        verify(FakeSelf(), {"apiKey": "  "})
