"""Transcribe Audio, Create Speech and Upload File on our sailor, in task mode on RabbitMQ,
against the OpenAI stand-in and the platform's object storage stand-in.

The attachments travel as on the platform: an incoming one is an object of the storage,
read with the storage's token; the speech leaves as a new object, whose URL the outgoing
message carries. Every request to the OpenAI stand-in is checked against the official
OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.flows import STORAGE_TOKEN, FileFlow, file_flow
from tests.support.openai_audio_routes import heard_text, speech_bytes

AUDIO = b"ID3" + bytes(range(256)) * 400

pytestmark = [pytest.mark.broker, pytest.mark.timeout(120)]


@pytest.fixture
def flow(broker: Any, repo_root: Path) -> Iterator[FileFlow]:
    with file_flow(broker, repo_root) as running:
        yield running


def test_an_audio_attachment_becomes_its_text(flow: FileFlow) -> None:
    openai, storage = flow.openai, flow.storage
    object_id = storage.put(AUDIO, "audio/mpeg")
    message = {"body": {"language": "en"}, "attachments": {"call.mp3": {
        "url": storage.object_url(object_id), "size": len(AUDIO), "content-type": "audio/mpeg"}}}
    output = flow.run("transcribeAudio", message, model="gpt-4o-mini-transcribe")
    assert output["body"]["text"] == heard_text("call.mp3", len(AUDIO))
    [form] = openai.audio.forms
    assert form.file("file").data == AUDIO
    [read] = storage.calls_to("GET")
    assert read.headers["authorization"] == f"Bearer {STORAGE_TOKEN}"


def test_speech_leaves_as_an_attachment_of_the_storage(flow: FileFlow) -> None:
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
    downloaded = requests.get(entry["url"], headers={"Authorization": f"Bearer {STORAGE_TOKEN}"},
                              timeout=10)
    assert downloaded.content == audio
    assert downloaded.headers["Content-Type"] == "audio/wav"
    [post] = flow.storage.calls_to("POST")
    assert post.headers["transfer-encoding"] == "chunked"  # handed on as it arrived


def test_an_attachment_is_uploaded_and_indexed(flow: FileFlow) -> None:
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
