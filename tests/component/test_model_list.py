"""The Model dropdown: filtering, order, labels, and getModels over HTTP."""

from __future__ import annotations

import random

import pytest
import responses

from lib.actions import send_request
from lib.model_list import is_openai, select_models
from lib.model_names import family_of, is_chat_model
from lib.openai.errors import AuthenticationError
from tests.support.action_support import (
    API_KEY,
    MODELS_URL,
    FakeSelf,
    api_error,
    cfg,
    model_entry,
)
from tests.support.openapi_contract import validate

CREATED = {
    "gpt-3.5-turbo": 1677610602, "gpt-4": 1687882411, "gpt-4o": 1715367049,
    "gpt-4o-2024-08-06": 1722814719, "gpt-4o-mini": 1721172741,
    "gpt-4o-audio-preview": 1727460443, "chatgpt-4o-latest": 1723515131,
    "o1": 1734375816, "o3-mini": 1737146383, "o4-mini": 1744225351, "gpt-4.1": 1744316542,
    "gpt-4.1-nano": 1744321707, "gpt-5": 1754425777, "gpt-5-mini": 1754425928,
    "gpt-5.1": 1762800000,
}
NOT_CHAT = [
    "text-embedding-3-small", "text-embedding-ada-002", "tts-1", "gpt-4o-mini-tts", "whisper-1",
    "gpt-4o-transcribe", "dall-e-3", "gpt-image-1", "omni-moderation-latest",
    "gpt-4o-realtime-preview", "gpt-realtime", "text-search-ada-doc-001",
    "gpt-3.5-turbo-instruct", "babbage-002", "davinci-002", "sora-2", "computer-use-preview",
]
FINE_TUNE = "ft:gpt-4o-mini-2024-07-18:acme:support:AbC123"


def listing() -> list[dict]:
    models = [model_entry(i, c) for i, c in CREATED.items()]
    models += [model_entry(i) for i in NOT_CHAT]
    models.append(model_entry(FINE_TUNE, 1750000000, owned_by="acme"))
    models.append(model_entry("gpt-4", 1687882411, shutdown_date="2026-12-31"))
    models.pop(1)  # the plain gpt-4 again, now with a shutdown date
    random.Random(7).shuffle(models)
    for model in models:
        validate("Model", model)
    return models


def test_only_chat_models_are_kept_for_openai() -> None:
    selected = select_models(listing(), "https://api.openai.com/v1")
    assert set(selected) == {*CREATED, FINE_TUNE}


def test_newest_families_first_fine_tunes_last() -> None:
    assert list(select_models(listing(), "https://api.openai.com/v1")) == [
        "gpt-5.1", "gpt-5", "gpt-5-mini", "gpt-4.1", "gpt-4.1-nano", "o4-mini", "o3-mini", "o1",
        "chatgpt-4o-latest", "gpt-4o", "gpt-4o-audio-preview", "gpt-4o-mini",
        "gpt-4o-2024-08-06", "gpt-4", "gpt-3.5-turbo", FINE_TUNE,
    ]


def test_labels_mark_fine_tunes_and_shutdown_dates() -> None:
    selected = select_models(listing(), "https://api.openai.com/v1")
    assert selected["gpt-5"] == "gpt-5"
    assert selected[FINE_TUNE] == f"{FINE_TUNE} (fine-tune)"
    assert selected["gpt-4"] == "gpt-4 (shuts down 2026-12-31)"


@pytest.mark.parametrize("base_url", [
    "http://localhost:11434/v1", "https://acme.openai.azure.com/openai/v1",
    "https://openrouter.ai/api/v1",
])
def test_other_servers_keep_every_model_by_name(base_url: str) -> None:
    models = [model_entry("mistral"), model_entry("Llama-3"), model_entry("text-embedding-3")]
    assert list(select_models(models, base_url)) == ["Llama-3", "mistral", "text-embedding-3"]


def test_openai_hosts_fine_tunes_families_and_junk_entries_are_told_apart() -> None:
    assert is_openai("https://api.openai.com/v1")
    assert is_openai("https://eu.api.openai.com/v1")
    assert not is_openai("https://acme.openai.azure.com/openai/v1")
    assert is_chat_model("ft:o4-mini-2025-04-16:acme::x")
    assert not is_chat_model("ft:babbage-002:acme::x")
    assert family_of("gpt-4o-mini-2024-07-18") == "gpt-4o"
    assert family_of("o3-mini") == "o3"
    assert family_of("gpt-5.1-codex") == "gpt-5.1"
    assert select_models([{"id": 3}, "junk", model_entry("gpt-4o")],
                         "https://api.openai.com/v1") == {"gpt-4o": "gpt-4o"}


@pytest.mark.usefixtures("fresh_clients")
@responses.activate
def test_get_models_is_the_select_model_of_the_action() -> None:
    responses.add(responses.GET, MODELS_URL, json={"object": "list", "data": listing()})
    me = FakeSelf()
    result = send_request.getModels(me, cfg(model=None, organization="org-1", project="proj_1"))
    assert next(iter(result)) == "gpt-5.1"
    request = responses.calls[0].request
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert request.headers["OpenAI-Organization"] == "org-1"
    assert request.headers["OpenAI-Project"] == "proj_1"
    validate("ListModelsResponse", {"object": "list", "data": listing()})


@pytest.mark.usefixtures("fresh_clients")
@responses.activate
def test_get_models_fails_with_the_apis_reason() -> None:
    responses.add(responses.GET, MODELS_URL, status=401, json=api_error(
        "Incorrect API key provided: sk-proj-****CRET.", error_type="invalid_request_error",
        code="invalid_api_key"))
    with pytest.raises(AuthenticationError, match="Incorrect API key") as caught:
        send_request.getModels(FakeSelf(), cfg())
    assert API_KEY not in str(caught.value)
