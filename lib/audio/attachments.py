"""Which incoming files are audio the transcription endpoints take, and their limits.

The API reads the format from the file name's extension (and the part's content type),
so a name without a known extension gets one from the content type.
"""

from __future__ import annotations

from lib.attachments.inputs import FileKind
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


SPEECH_FORMATS = {  # response_format -> (extension, media type)
    "mp3": ("mp3", "audio/mpeg"),
    "opus": ("opus", "audio/ogg"),
    "aac": ("aac", "audio/aac"),
    "flac": ("flac", "audio/flac"),
    "wav": ("wav", "audio/wav"),
    "pcm": ("pcm", "audio/pcm"),
}
SPEECH_FILE_STEM = "speech"


def speech_file(audio_format: str, answered_media_type: str | None) -> tuple[str, str]:
    """The attachment's name and content type for speech in `audio_format`: the server's
    media type when it says audio, else the format's."""
    extension, media_type = SPEECH_FORMATS[audio_format]
    if answered_media_type and answered_media_type.startswith("audio/"):
        media_type = answered_media_type
    return f"{SPEECH_FILE_STEM}.{extension}", media_type


def audio_file_name(name: str, media_type: str | None) -> str:
    """The name to send: `name` when its extension is one the API knows; else `name`
    with the extension of its media type (the API tells the format by it)."""
    if extension_of(name) in AUDIO_EXTENSIONS:
        return name
    extension = AUDIO_MEDIA_TYPES.get(media_type or "")
    return f"{name or 'audio'}.{extension}" if extension else name or "audio"


AUDIO_FILES = FileKind("audio file", MAX_AUDIO_BYTES, is_audio, ", ".join(AUDIO_EXTENSIONS))
