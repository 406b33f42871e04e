"""The outgoing bodies of Transcribe Audio and Create Speech."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lib.openai.errors import OpenAIError


def transcription_output(answer: dict[str, Any] | str) -> dict[str, Any]:
    """The API's answer whole; a plain-text answer (text, srt, vtt) as ``{"text": ...}``."""
    if isinstance(answer, str):
        return {"text": answer}
    if not isinstance(answer.get("text"), str):
        raise OpenAIError("The server's transcription has no text; check the base URL")
    return answer


def speech_output(request: Mapping[str, Any], audio_format: str,
                  attachment: Mapping[str, Any]) -> dict[str, Any]:
    """Where the audio went (the attachment's name, size and type) and how it was made;
    never the audio itself."""
    return {
        "attachment": dict(attachment),
        "format": audio_format,
        "model": request["model"],
        "voice": request["voice"],
        "characters": len(request["input"]),
    }
