"""The audio API calls: transcriptions and translations (multipart forms), speech (a JSON
body answered with an audio file). A server without the endpoint (a compatible server that
offers chat only) fails with an error naming it."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from lib.openai.client import FileAnswer, OpenAIClient
from lib.openai.endpoints import naming_endpoint
from lib.openai.multipart import MultipartForm
from lib.openai.paths import SPEECH_PATH, TRANSCRIPTIONS_PATH, TRANSLATIONS_PATH


def transcribe(
    client: OpenAIClient, form: MultipartForm, *, translate: bool, text_answer: bool,
    timeout_s: float, logger: Any = None, stop: threading.Event | None = None,
) -> dict[str, Any] | str:
    """POST /audio/transcriptions (or /audio/translations: into English): the transcription
    object, or with `text_answer` (formats text, srt, vtt) the text the API answers."""
    path = TRANSLATIONS_PATH if translate else TRANSCRIPTIONS_PATH
    with naming_endpoint(f"POST {path}"):
        return client.request_form(path, form, text_answer=text_answer,
                                   timeout_s=timeout_s, logger=logger, stop=stop)


def create_speech(
    client: OpenAIClient, body: Mapping[str, Any], *, timeout_s: float, logger: Any = None,
    stop: threading.Event | None = None,
) -> FileAnswer:
    """POST /audio/speech: the audio, to be read as it arrives (close it when done)."""
    with naming_endpoint(f"POST {SPEECH_PATH}"):
        return client.open_file_answer(SPEECH_PATH, body, timeout_s=timeout_s,
                                       logger=logger, stop=stop)
