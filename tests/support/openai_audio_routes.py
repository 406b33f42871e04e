"""The stand-in's audio endpoints: transcriptions, translations (multipart) and speech.

    routes = AudioRoutes(validator)           # the official document's validator, or None
    routes.answer("POST", "/v1/audio/speech", headers, raw_body) -> Reply

Answers are made from the request, so that a test can tell what went through:
- a transcript says how many bytes of which file it heard (``heard_text``) in the format
  asked for (json, text, srt, vtt, verbose_json, diarized_json);
- speech is ``speech_bytes(input, format)``, with the format's content type.
A request that does not match the official document's ``CreateTranscriptionRequest``,
``CreateTranslationRequest`` or ``CreateSpeechRequest`` is recorded as a violation and
answered 400, as the real API would.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.support.multipart_form import Form, FormError, parse_form
from tests.support.openai_replies import (
    Reply,
    Validator,
    contract_refusal,
    error_body,
    json_object,
    not_json_object,
)

TRANSCRIPTIONS = "/v1/audio/transcriptions"
TRANSLATIONS = "/v1/audio/translations"
SPEECH = "/v1/audio/speech"
SPEECH_MEDIA_TYPES = {"mp3": "audio/mpeg", "opus": "audio/ogg", "aac": "audio/aac",
                      "flac": "audio/flac", "wav": "audio/wav", "pcm": "audio/pcm"}
# How a form's text fields map back to the document's JSON types.
FORM_ARRAYS = frozenset({"timestamp_granularities", "include", "languages", "keywords",
                         "known_speaker_names", "known_speaker_references"})
FORM_NUMBERS = frozenset({"temperature"})
FORM_OBJECTS = frozenset({"chunking_strategy"})


def heard_text(filename: str, size: int) -> str:
    """What the stand-in "hears" in an audio file: its size and name."""
    return f"Heard {size} bytes of {filename}."


def speech_bytes(text: str, audio_format: str) -> bytes:
    """The stand-in's "audio" for a text: a header naming the format, then the text's
    bytes repeated (about 1 KB per 10 characters, like real compressed speech)."""
    spoken = text.encode("utf-8")
    return f"FAKE-{audio_format.upper()}\n".encode() + spoken * 100


def transcription_json(text: str, response_format: str, *, task: str,
                       granularities: list[str]) -> dict[str, Any]:
    """A transcription object of the format asked for (json, verbose_json, diarized_json)."""
    duration = 1.5
    if response_format == "diarized_json":
        return {"task": "transcribe", "duration": duration, "text": text,
                "segments": [{"type": "transcript.text.segment", "id": "seg_001",
                              "start": 0.0, "end": duration, "text": text, "speaker": "A"}],
                "usage": {"type": "duration", "seconds": 2}}
    if response_format == "verbose_json":
        answer: dict[str, Any] = {
            "task": task, "language": "english", "duration": duration, "text": text,
            "usage": {"type": "duration", "seconds": 2}}
        if "segment" in granularities or not granularities:
            answer["segments"] = [{
                "id": 0, "seek": 0, "start": 0.0, "end": duration, "text": text,
                "tokens": [50364, 440, 50530], "temperature": 0.0, "avg_logprob": -0.28,
                "compression_ratio": 1.2, "no_speech_prob": 0.01}]
        if "word" in granularities:
            words = text.split()
            step = duration / max(len(words), 1)
            answer["words"] = [{"word": word, "start": round(i * step, 3),
                                "end": round((i + 1) * step, 3)}
                               for i, word in enumerate(words)]
        return answer
    return {"text": text, "usage": {"type": "tokens", "input_tokens": 14,
                                    "input_token_details": {"text_tokens": 0,
                                                            "audio_tokens": 14},
                                    "output_tokens": 9, "total_tokens": 23}}


def transcription_text(text: str, response_format: str) -> str:
    """The plain-text answers: text, srt, vtt."""
    if response_format == "srt":
        return f"1\n00:00:00,000 --> 00:00:01,500\n{text}\n\n"
    if response_format == "vtt":
        return f"WEBVTT\n\n00:00:00.000 --> 00:00:01.500\n{text}\n\n"
    return f"{text}\n"


@dataclass
class AudioRoutes:
    """Answers the audio endpoints; `forms` records every form received, `speeches`
    every speech body."""

    validator: Validator | None = None
    violations: list[str] = field(default_factory=list)
    forms: list[Form] = field(default_factory=list)
    speeches: list[dict[str, Any]] = field(default_factory=list)

    def handles(self, method: str, path: str) -> bool:
        return method == "POST" and path in (TRANSCRIPTIONS, TRANSLATIONS, SPEECH)

    def answer(self, method: str, path: str, headers: Mapping[str, str], raw: bytes) -> Reply:
        del method
        if path == SPEECH:
            return self._speech(raw)
        try:
            form = parse_form(headers.get("Content-Type"), raw)
        except FormError as exc:
            return Reply(400, error_body(f"Could not parse multipart form: {exc}",
                                         "invalid_request_error"))
        self.forms.append(form)
        translate = path == TRANSLATIONS
        schema = "CreateTranslationRequest" if translate else "CreateTranscriptionRequest"
        refused = self._check(schema, form.as_request(FORM_ARRAYS, FORM_NUMBERS, FORM_OBJECTS))
        if refused is not None:
            return refused
        audio = form.file("file")
        if audio is None:  # the document's schema requires it: unreachable when validated
            return Reply(400, error_body("file is required", "invalid_request_error", None,
                                         "file"))
        text = heard_text(audio.filename, len(audio.data))
        if translate:
            text = f"In English: {text}"
        response_format = form.text("response_format") or "json"
        if response_format in ("text", "srt", "vtt"):
            return Reply(text=transcription_text(text, response_format),
                         content_type="text/plain; charset=utf-8")
        granularities = form.texts_of("timestamp_granularities[]")
        return Reply(json=transcription_json(text, response_format,
                                             task="translate" if translate else "transcribe",
                                             granularities=granularities))

    def _speech(self, raw: bytes) -> Reply:
        body = json_object(raw)
        if body is None:
            return not_json_object()
        self.speeches.append(body)
        refused = self._check("CreateSpeechRequest", body)
        if refused is not None:
            return refused
        audio_format = body.get("response_format") or "mp3"
        return Reply(data=speech_bytes(body["input"], audio_format),
                     content_type=SPEECH_MEDIA_TYPES[audio_format])

    def _check(self, schema: str, request: Any) -> Reply | None:
        return contract_refusal(self.validator, self.violations, schema, request)
