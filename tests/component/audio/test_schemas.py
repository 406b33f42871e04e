"""The audio actions' metadata: the platform's dialect, and inputs the API takes."""

from __future__ import annotations

import pytest

from lib.audio.request import speech_request, transcription_fields
from lib.errors import InputValidationError
from lib.validation import load_schema, validate_input
from tests.support.multipart_form import Form
from tests.support.openapi_contract import validate
from tests.support.schema_dialect import dialect_problems

SCHEMAS = ["transcribeAudio.in.json", "transcribeAudio.out.json", "createSpeech.in.json",
           "createSpeech.out.json"]
FORM_ARRAYS = frozenset({"timestamp_granularities", "include"})


@pytest.mark.parametrize("name", SCHEMAS)
def test_the_schema_is_in_the_platforms_dialect(name: str) -> None:
    assert dialect_problems(load_schema(name), output=name.endswith(".out.json")) == []


@pytest.mark.parametrize(("body", "translate"), [
    ({"file": "call.mp3"}, False),
    ({"file": "https://example.com/a.wav", "language": "de", "prompt": "Names: Jörg",
      "response_format": "verbose_json", "timestamp_granularities": ["word", "segment"],
      "temperature": 0.2}, False),
    ({"response_format": "json", "include": ["logprobs"], "chunking_strategy": "auto"}, False),
    ({"file": "interview.m4a", "response_format": "srt", "prompt": "An interview"}, True),
])
def test_valid_inputs_make_forms_the_api_takes(body: dict, translate: bool) -> None:
    validate_input(body, "transcribeAudio.in.json")
    fields = transcription_fields(body, "whisper-1", translate=translate)
    form = Form(texts=fields, files={"file": []})
    request = form.as_request(FORM_ARRAYS, frozenset({"temperature"}))
    request["file"] = "(binary)"
    validate("CreateTranslationRequest" if translate else "CreateTranscriptionRequest",
             request)


@pytest.mark.parametrize("body", [
    {"input": "Hello from the flow.", "voice": "alloy"},
    {"input": "Slowly, please.", "voice": {"id": "voice_1234"}, "speed": 0.5,
     "response_format": "opus", "instructions": "Calm and warm."},
])
def test_valid_speech_inputs_make_bodies_the_api_takes(body: dict) -> None:
    validate_input(body, "createSpeech.in.json")
    validate("CreateSpeechRequest", speech_request(body, "gpt-4o-mini-tts"))


def test_a_text_over_4096_characters_is_refused_with_its_length() -> None:
    validate_input({"input": "é" * 4096, "voice": "alloy"}, "createSpeech.in.json")
    with pytest.raises(InputValidationError) as caught:
        validate_input({"input": "a" * 5000, "voice": "alloy"}, "createSpeech.in.json")
    assert caught.value.problems == ["input has 5,000 characters; at most 4,096 are allowed"]


@pytest.mark.parametrize(("body", "problem"), [
    ({"voice": "alloy"}, "input is required"),
    ({"input": "Hi"}, "voice is required"),
    ({"input": "Hi", "voice": "alloy", "speed": 5}, "speed must be at most 4"),
    ({"input": "Hi", "voice": "alloy", "response_format": "ogg"},
     "response_format must be one of mp3, opus, aac, flac, wav, pcm"),
])
def test_invalid_speech_inputs_are_named(body: dict, problem: str) -> None:
    with pytest.raises(InputValidationError, match=problem):
        validate_input(body, "createSpeech.in.json")
