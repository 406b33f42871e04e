"""Transcribe Audio: one message with an audio file -> its text -> one message out.

The audio is one of the message's attachments or a URL (``file``); it is streamed to
POST /audio/transcriptions (with Translate to English, /audio/translations) as it is
read. The outgoing body is the API's answer, whole (text, srt and vtt as ``text``).
"""

from __future__ import annotations

from typing import Any

from lib import step as steps
from lib.attachments.inputs import choose_file, open_file
from lib.audio.attachments import AUDIO_FILES, audio_file_name
from lib.audio.output import transcription_output
from lib.audio.request import FILE_FIELD, answers_in_text, transcription_fields
from lib.model_list import getTranscriptionModels
from lib.openai.audio import transcribe
from lib.openai.multipart import FilePart, MultipartForm

__all__ = ["getTranscriptionModels", "init", "process"]  # getTranscriptionModels: the Model field

INPUT_SCHEMA_FILE = "transcribeAudio.in.json"
init = steps.init_hook(INPUT_SCHEMA_FILE)  # called by the sailor at start-up


def process(self: Any, msg: dict[str, Any], cfg: dict[str, Any], snapshot: Any = None) -> Any:
    """Transcribe (or translate) the audio; return the output message, or rebound it when
    the server asks to wait long."""
    del snapshot  # stateless
    step = steps.start(self, msg, cfg, INPUT_SCHEMA_FILE)
    config = step.config
    fields = transcription_fields(step.body, config.model, translate=config.translate)
    audio = choose_file(step.body.get(FILE_FIELD), step.message_attachments,
                        place=FILE_FIELD, kind=AUDIO_FILES)  # checked: nothing sent yet

    def work() -> dict[str, Any]:
        downloads = step.downloads(streamed_limit=AUDIO_FILES.limit)
        with open_file(audio, AUDIO_FILES, downloads, local=step.attachment_store,
                       stop=step.stop, logger=self.logger) as source:
            part = FilePart(FILE_FIELD, audio_file_name(audio.name, source.media_type),
                            source.open, source.content_type, source.size)
            answer = transcribe(config.client(), MultipartForm(fields, [part]),
                                translate=config.translate,
                                text_answer=answers_in_text(step.body),
                                timeout_s=config.timeout_s, logger=self.logger,
                                stop=step.stop)
        return {"body": transcription_output(answer)}

    return steps.finish(step, work)
