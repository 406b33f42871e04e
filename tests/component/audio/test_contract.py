"""The stand-in's audio answers match the official OpenAPI document, and so does what the
output schema accepts: what the e2e and action tests see is what the API sends."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from lib.audio.output import transcription_output
from lib.validation import load_schema, to_json_schema
from tests.support.openai_audio_routes import transcription_json
from tests.support.openapi_contract import validate

OUT = Draft202012Validator(to_json_schema(load_schema("transcribeAudio.out.json")))


@pytest.mark.parametrize(("response_format", "task", "granularities", "schema"), [
    ("json", "transcribe", [], "CreateTranscriptionResponseJson"),
    ("verbose_json", "transcribe", ["word", "segment"], "CreateTranscriptionResponseVerboseJson"),
    ("verbose_json", "transcribe", ["word"], "CreateTranscriptionResponseVerboseJson"),
    ("diarized_json", "transcribe", [], "CreateTranscriptionResponseDiarizedJson"),
    ("json", "translate", [], "CreateTranslationResponseJson"),
    ("verbose_json", "translate", [], "CreateTranslationResponseVerboseJson"),
])
def test_each_transcription_answer_is_the_apis_and_passes_the_output_schema(
        response_format: str, task: str, granularities: list[str], schema: str) -> None:
    answer = transcription_json("Hello there.", response_format, task=task,
                                granularities=granularities)
    validate(schema, answer)
    assert list(OUT.iter_errors(transcription_output(answer))) == []


def test_compatible_servers_nulls_pass_the_output_schema() -> None:
    answer = {"text": "Hi", "language": None, "duration": None, "segments": None,
              "words": None, "usage": None, "task": None}
    assert list(OUT.iter_errors(answer)) == []
