"""Create Speech through `process`: the audio from the OpenAI stand-in goes to the object
storage stand-in as it arrives and leaves as an attachment, never in the body."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from lib.actions import create_speech
from lib.errors import InputValidationError
from lib.openai.errors import OpenAIError
from lib.validation import load_schema, to_json_schema
from tests.support.action_support import STORAGE_TOKEN, FakeSelfWithFiles, cfg
from tests.support.object_storage import ObjectStorageStandIn
from tests.support.openai_audio_routes import speech_bytes
from tests.support.openai_replies import Reply
from tests.support.openai_standin import OpenAIStandIn

OUT = Draft202012Validator(to_json_schema(load_schema("createSpeech.out.json")))
TEXT = "Your order has shipped."


def run(standin: OpenAIStandIn, storage: ObjectStorageStandIn, body: dict) -> dict:
    me = FakeSelfWithFiles(storage.url, STORAGE_TOKEN)
    return create_speech.process(
        me, {"id": "m1", "body": body},
        cfg(baseUrl=standin.url, model="gpt-4o-mini-tts"), {})


@pytest.mark.parametrize(("audio_format", "name", "content_type"), [
    (None, "speech.mp3", "audio/mpeg"), ("wav", "speech.wav", "audio/wav"),
    ("opus", "speech.opus", "audio/ogg"), ("pcm", "speech.pcm", "audio/pcm")])
def test_the_audio_is_an_attachment_and_the_body_names_it(
        openai_standin: OpenAIStandIn, object_storage: ObjectStorageStandIn,
        audio_format: str | None, name: str, content_type: str) -> None:
    body = {"input": TEXT, "voice": "coral"}
    if audio_format:
        body["response_format"] = audio_format
    result = run(openai_standin, object_storage, body)
    audio = speech_bytes(TEXT, audio_format or "mp3")
    [(object_id, stored)] = object_storage.objects.items()
    assert (stored.content, stored.content_type) == (audio, content_type)
    assert result["attachments"] == {name: {
        "url": object_storage.object_url(object_id), "size": len(audio),
        "content-type": content_type}}
    assert result["body"] == {
        "attachment": {"name": name, "size": len(audio), "content_type": content_type},
        "format": audio_format or "mp3", "model": "gpt-4o-mini-tts", "voice": "coral",
        "characters": len(TEXT)}
    assert list(OUT.iter_errors(result["body"])) == []
    assert len(json.dumps(result)) < 1000  # never the audio itself


def test_a_text_over_4096_characters_is_refused_before_sending(
        openai_standin: OpenAIStandIn, object_storage: ObjectStorageStandIn) -> None:
    with pytest.raises(InputValidationError,
                       match="input has 4,097 characters; at most 4,096 are allowed"):
        run(openai_standin, object_storage, {"input": "a" * 4097, "voice": "alloy"})
    assert openai_standin.requests == []


def test_a_json_answer_instead_of_audio_stores_nothing(
        openai_standin: OpenAIStandIn, object_storage: ObjectStorageStandIn) -> None:
    openai_standin.script(Reply(json={"ok": True}))
    with pytest.raises(OpenAIError, match="answered JSON instead of a file"):
        run(openai_standin, object_storage, {"input": TEXT, "voice": "alloy"})
    assert object_storage.objects == {}
