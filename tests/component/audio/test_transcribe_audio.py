"""Transcribe Audio through `process`: the audio from the object storage stand-in, the API
from the OpenAI stand-in (both on 127.0.0.1, every form checked against the official
document)."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from lib.actions import transcribe_audio
from lib.errors import AttachmentTooLargeError, InputValidationError, UserError
from lib.openai.errors import NotFoundError
from lib.validation import load_schema, to_json_schema
from tests.support.action_support import API_KEY, STORAGE_TOKEN, FakeSelfWithFiles, cfg
from tests.support.object_storage import ObjectStorageStandIn
from tests.support.openai_audio_routes import heard_text
from tests.support.openai_replies import Reply
from tests.support.openai_standin import OpenAIStandIn

OUT = Draft202012Validator(to_json_schema(load_schema("transcribeAudio.out.json")))
AUDIO = b"ID3" + bytes(range(256)) * 200


def run(standin: OpenAIStandIn, storage: ObjectStorageStandIn, body: dict,
        attachments: dict | None = None, **config: object) -> tuple[FakeSelfWithFiles, dict]:
    me = FakeSelfWithFiles(storage.url, STORAGE_TOKEN)
    message = {"id": "m1", "body": body, "attachments": attachments or {}}
    result = transcribe_audio.process(
        me, message, cfg(**{"baseUrl": standin.url, "model": "gpt-4o-mini-transcribe",
                            **config}), {})
    return me, result


def stored_audio(storage: ObjectStorageStandIn, content: bytes = AUDIO,
                 content_type: str = "audio/mpeg") -> dict:
    return {"url": storage.object_url(storage.put(content, content_type)),
            "size": len(content), "content-type": content_type}


def test_the_only_audio_attachment_is_transcribed(openai_standin: OpenAIStandIn,
                                                  object_storage: ObjectStorageStandIn) -> None:
    attachments = {"notes.txt": {"url": "https://example.com/notes.txt",
                                 "content-type": "text/plain"},
                   "call.mp3": stored_audio(object_storage)}
    me, result = run(openai_standin, object_storage, {"language": "de"}, attachments)
    assert result["body"]["text"] == heard_text("call.mp3", len(AUDIO))
    assert list(OUT.iter_errors(result["body"])) == []
    [form] = openai_standin.audio.forms
    assert form.texts == [("model", "gpt-4o-mini-transcribe"), ("language", "de")]
    sent = form.file("file")
    assert (sent.filename, sent.content_type, sent.data) == ("call.mp3", "audio/mpeg", AUDIO)
    assert "file: streaming 'call.mp3' to the API (audio/mpeg, 51,203 bytes)" \
        in me.logger.text()
    assert STORAGE_TOKEN not in me.logger.text()


def test_a_translation_in_srt_comes_back_as_text(openai_standin: OpenAIStandIn,
                                                 object_storage: ObjectStorageStandIn) -> None:
    attachments = {"rede": stored_audio(object_storage, content_type="audio/wav")}
    _, result = run(openai_standin, object_storage,
                    {"file": "rede", "response_format": "srt"}, attachments,
                    translate=True, model="whisper-1")
    assert result["body"]["text"].startswith("1\n00:00:00,000 --> 00:00:01,500\nIn English: ")
    assert openai_standin.requests[-1].path == "/v1/audio/translations"
    assert openai_standin.audio.forms[0].file("file").filename == "rede.wav"


def test_a_retry_sends_the_audio_again_from_the_storage(
        openai_standin: OpenAIStandIn, object_storage: ObjectStorageStandIn) -> None:
    openai_standin.script(Reply(503, {"error": {"message": "busy", "type": "server_error"}}))
    attachments = {"call.mp3": stored_audio(object_storage)}
    _, result = run(openai_standin, object_storage, {}, attachments)
    assert result["body"]["text"] == heard_text("call.mp3", len(AUDIO))
    assert len(object_storage.calls_to("GET")) == 2  # one download per attempt
    assert len(openai_standin.requests) == 2


@pytest.mark.parametrize(("body", "attachments", "error", "says"), [
    ({}, {}, UserError, "file: give an attachment's name or a URL"),
    ({"file": "call.mp3"}, {"call.mp3": {"url": "https://x.test/a", "size": 30 * 2**20}},
     AttachmentTooLargeError, "has 31,457,280 bytes; the API takes at most 26,214,400"),
    ({"language": "de"}, {"a.mp3": {"url": "https://x.test/a"}}, InputValidationError,
     "language is not used when translating"),
])
def test_what_cannot_be_sent_is_refused_before_anything_is(
        openai_standin: OpenAIStandIn, object_storage: ObjectStorageStandIn, *, body: dict,
        attachments: dict, error: type[Exception], says: str) -> None:
    with pytest.raises(error, match=says):
        run(openai_standin, object_storage, body, attachments,
            translate="language" in body)
    assert openai_standin.requests == []
    assert object_storage.calls == []


def test_a_server_without_the_endpoint_is_named(object_storage: ObjectStorageStandIn,
                                                fresh_clients: object) -> None:
    with OpenAIStandIn(api_key=API_KEY) as chat_only:
        chat_only.audio.handles = lambda _method, _path: False  # type: ignore[method-assign]
        with pytest.raises(NotFoundError, match="The server has no POST "
                                                "/audio/transcriptions endpoint"):
            run(chat_only, object_storage, {}, {"a.mp3": stored_audio(object_storage)})
