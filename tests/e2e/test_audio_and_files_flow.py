"""Transcribe Audio, Create Speech and Upload File on our sailor, in task mode on RabbitMQ,
against the OpenAI stand-in and the platform's object storage stand-in.

The attachments travel as on the platform: an incoming one is an object of the storage,
read with the storage's token; the speech leaves as a new object, whose URL the outgoing
message carries. Every request to the OpenAI stand-in is checked against the official
OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.flows import step_in_flow
from tests.support.object_storage import ObjectStorageStandIn
from tests.support.openai_audio_routes import heard_text, speech_bytes
from tests.support.openai_standin import OpenAIStandIn
from tests.support.openapi_contract import validate

API_KEY = "sk-e2e-audio-SECRET-key"
TOKEN = "maester-e2e-token-SECRET"
AUDIO = b"ID3" + bytes(range(256)) * 400

pytestmark = [pytest.mark.broker, pytest.mark.timeout(120)]


@pytest.fixture
def openai() -> Iterator[OpenAIStandIn]:
    with OpenAIStandIn(api_key=API_KEY, validator=validate) as standin:
        yield standin
        assert standin.violations == [], "a request broke the OpenAPI contract"


@pytest.fixture
def storage() -> Iterator[ObjectStorageStandIn]:
    with ObjectStorageStandIn(TOKEN) as standin:
        yield standin


@dataclass
class Flow:
    """Our step in a simulated flow, with the stand-ins of OpenAI and the storage."""

    broker: Any
    repo_root: Path
    openai: OpenAIStandIn
    storage: ObjectStorageStandIn

    def run(self, function: str, message: dict, **config: str) -> dict:
        """One message through our step `function`: the one message it emits."""
        step_data = {"config": {"apiKey": API_KEY, "baseUrl": self.openai.url, **config}}
        with step_in_flow(self.broker.url, self.repo_root, function, step_data, API_KEY,
                          ELASTICIO_OBJECT_STORAGE_URI=self.storage.url,
                          ELASTICIO_OBJECT_STORAGE_TOKEN=TOKEN) as (sim, start):
            sim.publish_input(message)
            run = start()
            sim.wait_until(lambda: sim.published_to("data") or sim.published_to("error"),
                           timeout=60)
            assert sim.published_to("error") == []
            [data] = sim.published_to("data")
            assert sim.wait_until(lambda: sim.input_depth() == 0)
            assert TOKEN not in run.output()
            return data.decoded()


@pytest.fixture
def flow(broker: Any, repo_root: Path, openai: OpenAIStandIn,
         storage: ObjectStorageStandIn) -> Flow:
    return Flow(broker, repo_root, openai, storage)


def test_an_audio_attachment_becomes_its_text(flow: Flow) -> None:
    openai, storage = flow.openai, flow.storage
    object_id = storage.put(AUDIO, "audio/mpeg")
    message = {"body": {"language": "en"}, "attachments": {"call.mp3": {
        "url": storage.object_url(object_id), "size": len(AUDIO), "content-type": "audio/mpeg"}}}
    output = flow.run("transcribeAudio", message, model="gpt-4o-mini-transcribe")
    assert output["body"]["text"] == heard_text("call.mp3", len(AUDIO))
    [form] = openai.audio.forms
    assert form.file("file").data == AUDIO
    [read] = storage.calls_to("GET")
    assert read.headers["authorization"] == f"Bearer {TOKEN}"


def test_speech_leaves_as_an_attachment_of_the_storage(flow: Flow) -> None:
    text = "Your order has shipped and arrives on Friday."
    message = {"body": {"input": text, "voice": "coral", "response_format": "wav"}}
    output = flow.run("createSpeech", message, model="gpt-4o-mini-tts")
    audio = speech_bytes(text, "wav")
    [(name, entry)] = output["attachments"].items()
    assert (name, entry["size"], entry["content-type"]) == ("speech.wav", len(audio),
                                                           "audio/wav")
    assert output["body"]["attachment"] == {"name": "speech.wav", "size": len(audio),
                                            "content_type": "audio/wav"}
    assert requests.get(entry["url"], timeout=10).status_code == 401  # the token is needed
    downloaded = requests.get(entry["url"], headers={"Authorization": f"Bearer {TOKEN}"},
                              timeout=10)
    assert downloaded.content == audio
    assert downloaded.headers["Content-Type"] == "audio/wav"
    [post] = flow.storage.calls_to("POST")
    assert post.headers["transfer-encoding"] == "chunked"  # handed on as it arrived


def test_an_attachment_is_uploaded_and_indexed(flow: Flow) -> None:
    openai, storage = flow.openai, flow.storage
    content = b"Integration flows move data between systems.\n" * 50
    object_id = storage.put(content, "text/plain")
    message = {"body": {"purpose": "assistants", "vector_store_id": "vs_e2e"},
               "attachments": {"notes.txt": {"url": storage.object_url(object_id),
                                             "content-type": "text/plain"}}}
    output = flow.run("uploadFile", message)
    file = output["body"]["file"]
    assert (file["filename"], file["bytes"], file["purpose"]) == (
        "notes.txt", len(content), "assistants")
    assert output["body"]["vector_store_file"]["status"] == "completed"
    assert openai.files.files[file["id"]].data == content
