"""The audio requests, built from the validated message body and the step's model.

Transcriptions and translations are multipart forms: the audio is a file part (added by
the action from its source), every other field a text field. Speech is a JSON body.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lib.audio.attachments import SPEECH_FORMATS
from lib.errors import InputValidationError
from lib.openai.multipart import form_fields

FILE_FIELD = "file"
# What only the transcriptions endpoint takes: refused when translating, with the reason.
TRANSCRIPTION_ONLY_FIELDS = (
    "language", "languages", "keywords", "timestamp_granularities", "include",
    "chunking_strategy", "known_speaker_names", "known_speaker_references",
)
TRANSLATION_FORMATS = frozenset({"json", "text", "srt", "vtt", "verbose_json"})
# Formats the API answers in plain text instead of JSON.
TEXT_FORMATS = frozenset({"text", "srt", "vtt"})

DEFAULT_SPEECH_FORMAT = "mp3"


def transcription_fields(body: Mapping[str, Any], model: str, *, translate: bool
                         ) -> list[tuple[str, str]]:
    """The form's text fields (the audio itself is the action's file part): the body
    without `file`, and the step's model.

    Raises `InputValidationError` for what the endpoint would refuse or the step cannot
    do: streaming, and with `translate` the fields of transcriptions only."""
    problems = []
    if body.get("stream") not in (None, False):
        problems.append("stream is not supported: the text is emitted once the whole "
                        "transcript has arrived")
    if translate:
        problems += [f"{name} is not used when translating to English: remove it, or turn "
                     "off 'Translate to English'"
                     for name in TRANSCRIPTION_ONLY_FIELDS if body.get(name) is not None]
        response_format = body.get("response_format")
        if response_format is not None and response_format not in TRANSLATION_FORMATS:
            problems.append(f"response_format {response_format} is not available when "
                            "translating: use json, text, srt, vtt or verbose_json")
    if problems:
        raise InputValidationError(problems)
    rest = {name: value for name, value in body.items()
            if name not in (FILE_FIELD, "model", "stream")}
    return [("model", model), *form_fields(rest)]


def answers_in_text(body: Mapping[str, Any]) -> bool:
    """Whether the answer is plain text (response formats text, srt, vtt)."""
    return body.get("response_format") in TEXT_FORMATS


def speech_request(body: Mapping[str, Any], model: str) -> dict[str, Any]:
    """The JSON body of POST /audio/speech: the message body with the step's model (the
    input schema has limited the text to the API's 4,096 characters).

    Raises `InputValidationError` for a streamed format (the audio is emitted as one
    attachment)."""
    if body.get("stream_format") not in (None, "audio"):
        raise InputValidationError([("stream_format must be audio (or left out): the audio "
                                    "is emitted as one attachment")])
    return {**body, "model": model}


def speech_format(request: Mapping[str, Any]) -> str:
    """The audio format the request asks for (mp3 when it names none)."""
    name = request.get("response_format") or DEFAULT_SPEECH_FORMAT
    return str(name) if name in SPEECH_FORMATS else DEFAULT_SPEECH_FORMAT
