"""The Model lists of the actions: Create Response's holds every Responses model, Send
Request's drops the models that answer only the Responses API; Create Embeddings and
Moderate list their kind of model only, newest first (every model for other servers)."""

from __future__ import annotations

import pytest
import responses

from lib.actions import (
    create_embeddings,
    create_response,
    create_speech,
    edit_image,
    generate_image,
    moderate,
    send_request,
    transcribe_audio,
)
from lib.model_names import (
    is_chat_model,
    is_chat_search_model,
    is_model_of_kind,
    is_responses_model,
    is_responses_only,
)
from tests.support.action_support import (
    MODELS_URL,
    FakeSelf,
    cfg,
    model_entry,
)

RESPONSES_ONLY = [
    "o1-pro", "o1-pro-2025-03-19", "o3-pro", "o3-deep-research",
    "o4-mini-deep-research-2025-06-26", "gpt-5-pro", "gpt-5.5-pro", "gpt-5-codex",
    "gpt-5.1-codex-max", "codex-mini-latest", "computer-use-preview", "gpt-5.6-cyber",
    "gpt-daybreak-blue-latest",
]
SHARED = ["gpt-4o", "gpt-4o-mini", "gpt-4.1", "o3", "o4-mini", "gpt-5", "gpt-5.1",
          "chatgpt-4o-latest", "ft:gpt-4o-mini-2024-07-18:acme:support:AbC123"]
# Chat Completions only: the search models (the Responses API has its web_search tool).
CHAT_ONLY = ["gpt-4o-search-preview", "gpt-4o-mini-search-preview",
             "gpt-4o-search-preview-2025-03-11", "gpt-5-search-api",
             "gpt-5-search-api-2025-10-14"]
NEITHER = ["text-embedding-3-small", "whisper-1", "gpt-image-1", "gpt-4o-realtime-preview",
           "tts-1", "dall-e-3", "text-search-ada-doc-001", "gpt-4o-search-realtime"]
IMAGE = ["gpt-image-1", "gpt-image-1-mini", "gpt-image-1.5", "gpt-image-2-2026-04-21",
         "chatgpt-image-latest", "dall-e-2", "dall-e-3"]
EMBEDDING = ["text-embedding-3-small", "text-embedding-3-large", "text-embedding-ada-002",
             "ft:text-embedding-3-small:acme::x1"]
MODERATION = ["omni-moderation-latest", "omni-moderation-2024-09-26", "text-moderation-latest",
              "text-moderation-stable"]
TRANSCRIPTION = ["whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe",
                 "gpt-4o-mini-transcribe-2025-12-15", "gpt-4o-transcribe-diarize",
                 "gpt-transcribe"]
SPEECH = ["tts-1", "tts-1-hd", "tts-1-1106", "gpt-4o-mini-tts", "gpt-4o-mini-tts-2025-12-15"]


@pytest.mark.parametrize("model", RESPONSES_ONLY)
def test_responses_only_models_are_offered_by_create_response_only(model: str) -> None:
    assert is_responses_only(model)
    assert is_responses_model(model)
    assert not is_chat_model(model)


@pytest.mark.parametrize("model", SHARED)
def test_chat_models_are_offered_by_both(model: str) -> None:
    assert is_chat_model(model)
    assert is_responses_model(model)
    assert not is_responses_only(model)


@pytest.mark.parametrize("model", CHAT_ONLY)
def test_search_models_are_offered_by_send_request_only(model: str) -> None:
    assert is_chat_search_model(model)
    assert is_chat_model(model)
    assert not is_responses_model(model)


@pytest.mark.parametrize("model", NEITHER)
def test_other_kinds_are_offered_by_neither(model: str) -> None:
    assert not is_chat_model(model)
    assert not is_responses_model(model)


@pytest.mark.usefixtures("fresh_clients")
@responses.activate
def test_each_action_has_its_select_model_function() -> None:
    listed = [model_entry(m, 1_700_000_000 + i)
              for i, m in enumerate(RESPONSES_ONLY + SHARED + CHAT_ONLY + NEITHER)]
    responses.add(responses.GET, MODELS_URL, json={"object": "list", "data": listed})
    responses.add(responses.GET, MODELS_URL, json={"object": "list", "data": listed})
    for_responses = create_response.getResponseModels(FakeSelf(), cfg())
    for_chat = send_request.getModels(FakeSelf(), cfg())
    assert set(for_responses) == set(RESPONSES_ONLY + SHARED)
    assert set(for_chat) == set(SHARED + CHAT_ONLY)


@pytest.mark.parametrize(("kind", "models"), [("embedding", EMBEDDING),
                                              ("moderation", MODERATION),
                                              ("transcription", TRANSCRIPTION),
                                              ("speech", SPEECH)])
def test_a_model_of_a_kind_is_of_that_kind_only(kind: str, models: list[str]) -> None:
    others = [m for m in RESPONSES_ONLY + SHARED + NEITHER + EMBEDDING + MODERATION
              + TRANSCRIPTION + SPEECH if m not in models]
    assert [m for m in models if is_model_of_kind(m, kind)] == models
    assert [m for m in others if is_model_of_kind(m, kind)] == []
    assert not any(is_chat_model(m) or is_responses_model(m) for m in models)


@pytest.mark.parametrize(("kind", "models"), [
    ("image", IMAGE), ("image edit", [m for m in IMAGE if m != "dall-e-3"])])
def test_image_models_are_their_kinds_only(kind: str, models: list[str]) -> None:
    others = [m for m in RESPONSES_ONLY + SHARED + CHAT_ONLY + NEITHER + EMBEDDING + MODERATION
              + IMAGE if m not in models]
    assert [m for m in models if is_model_of_kind(m, kind)] == models
    assert [m for m in others if is_model_of_kind(m, kind)] == []


@pytest.mark.usefixtures("fresh_clients")
@responses.activate
def test_the_embedding_and_moderation_actions_list_their_kind_newest_first() -> None:
    listed = [model_entry(m, created) for m, created in [
        ("text-embedding-ada-002", 1_671_000_000), ("text-embedding-3-large", 1_705_000_000),
        ("text-embedding-3-small", 1_705_000_001), ("text-moderation-latest", 1_670_000_000),
        ("omni-moderation-2024-09-26", 1_727_000_000), ("omni-moderation-latest", 1_727_000_001),
        ("gpt-4o-mini", 1_721_000_000), ("whisper-1", 1_677_000_000)]]
    for _ in range(2):
        responses.add(responses.GET, MODELS_URL, json={"object": "list", "data": listed})
    assert list(create_embeddings.getEmbeddingModels(FakeSelf(), cfg())) == [
        "text-embedding-3-large", "text-embedding-3-small", "text-embedding-ada-002"]
    assert list(moderate.getModerationModels(FakeSelf(), cfg())) == [
        "omni-moderation-latest", "omni-moderation-2024-09-26", "text-moderation-latest"]


@pytest.mark.usefixtures("fresh_clients")
@responses.activate
def test_a_compatible_server_offers_every_model_for_every_kind() -> None:
    local = "http://127.0.0.1:8099/v1"
    listed = [model_entry("smollm2-135m-instruct"), model_entry("nomic-embed-text")]
    for _ in range(2):
        responses.add(responses.GET, f"{local}/models", json={"object": "list", "data": listed})
    config = cfg(baseUrl=local, serverType="compatible")
    expected = ["nomic-embed-text", "smollm2-135m-instruct"]
    assert list(create_embeddings.getEmbeddingModels(FakeSelf(), config)) == expected
    assert list(moderate.getModerationModels(FakeSelf(), config)) == expected


@pytest.mark.usefixtures("fresh_clients")
@responses.activate
def test_the_audio_actions_list_their_kind_newest_first() -> None:
    listed = [model_entry(m, created) for m, created in [
        ("whisper-1", 1_677_000_000), ("gpt-4o-transcribe", 1_742_000_000),
        ("gpt-4o-mini-transcribe", 1_742_000_001), ("tts-1", 1_681_000_000),
        ("tts-1-hd", 1_699_000_000), ("gpt-4o-mini-tts", 1_742_000_002),
        ("gpt-4o-mini", 1_721_000_000), ("text-embedding-3-small", 1_705_000_001)]]
    for _ in range(2):
        responses.add(responses.GET, MODELS_URL, json={"object": "list", "data": listed})
    assert list(transcribe_audio.getTranscriptionModels(FakeSelf(), cfg())) == [
        "gpt-4o-mini-transcribe", "gpt-4o-transcribe", "whisper-1"]
    assert list(create_speech.getSpeechModels(FakeSelf(), cfg())) == [
        "gpt-4o-mini-tts", "tts-1", "tts-1-hd"]  # a family: its alias first


@pytest.mark.usefixtures("fresh_clients")
@responses.activate
def test_the_image_actions_list_their_kind_newest_first() -> None:
    listed = [model_entry(m, created) for m, created in [
        ("dall-e-2", 1_698_000_000), ("dall-e-3", 1_698_785_000),
        ("gpt-image-1", 1_745_000_000), ("gpt-image-1-mini", 1_759_000_000),
        ("gpt-4o-mini", 1_721_000_000), ("whisper-1", 1_677_000_000)]]
    for _ in range(2):
        responses.add(responses.GET, MODELS_URL, json={"object": "list", "data": listed})
    assert list(generate_image.getImageModels(FakeSelf(), cfg())) == [
        "gpt-image-1", "gpt-image-1-mini", "dall-e-2", "dall-e-3"]
    assert list(edit_image.getImageEditModels(FakeSelf(), cfg())) == [
        "gpt-image-1", "gpt-image-1-mini", "dall-e-2"]
