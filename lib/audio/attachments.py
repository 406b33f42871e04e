"""Which incoming files are audio the transcription endpoints take, and their limits.

The API reads the format from the file name's extension (and the part's content type),
so a name without a known extension gets one from the content type.
"""

from __future__ import annotations

from lib.openai.limits import MIB

MAX_AUDIO_BYTES = 25 * MIB  # the API refuses larger files (26,214,400 bytes)
AUDIO_EXTENSIONS = ("flac", "mp3", "mp4", "mpeg", "mpga", "m4a", "ogg", "oga", "wav", "webm")
# A media type an audio attachment may carry, and the extension the API knows it by.
AUDIO_MEDIA_TYPES = {
    "audio/flac": "flac", "audio/x-flac": "flac",
    "audio/mpeg": "mp3", "audio/mp3": "mp3", "audio/mpga": "mpga",
    "audio/mp4": "m4a", "audio/m4a": "m4a", "audio/x-m4a": "m4a", "video/mp4": "mp4",
    "audio/ogg": "ogg", "audio/opus": "ogg",
    "audio/wav": "wav", "audio/x-wav": "wav", "audio/wave": "wav", "audio/vnd.wave": "wav",
    "audio/webm": "webm", "video/webm": "webm",
}


def extension_of(name: str) -> str:
    """The lower-case extension of a file name, '' when it has none."""
    stem, dot, extension = name.rpartition(".")
    return extension.lower() if dot and stem and "/" not in extension else ""


def is_audio(name: str, media_type: str | None) -> bool:
    """Whether a file looks like audio the API takes (by extension or media type)."""
    return extension_of(name) in AUDIO_EXTENSIONS or (media_type or "") in AUDIO_MEDIA_TYPES


def audio_file_name(name: str, media_type: str | None) -> str:
    """The name to send: `name` when its extension is one the API knows; else `name`
    with the extension of its media type (the API tells the format by it)."""
    if extension_of(name) in AUDIO_EXTENSIONS:
        return name
    extension = AUDIO_MEDIA_TYPES.get(media_type or "")
    return f"{name or 'audio'}.{extension}" if extension else name or "audio"
