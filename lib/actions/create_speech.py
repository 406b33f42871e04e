"""Create Speech: one message with a text -> its speech -> one message with the audio as
an attachment.

The body is a speech request without `model` (the step names the model). The audio
answer is handed to the platform's object storage as it arrives and emitted as an
attachment (``speech.mp3``...); the outgoing body says where it went and how it was
made, never the audio itself.
"""

from __future__ import annotations

from typing import Any

from lib import step as steps
from lib.attachments.outputs import message_with_files, store_file
from lib.audio.attachments import speech_file
from lib.audio.output import speech_output
from lib.audio.request import speech_format, speech_request
from lib.model_list import getSpeechModels
from lib.openai.audio import create_speech

__all__ = ["getSpeechModels", "init", "process"]  # getSpeechModels: the Model field's select

INPUT_SCHEMA_FILE = "createSpeech.in.json"
init = steps.init_hook(INPUT_SCHEMA_FILE)  # called by the sailor at start-up


def process(self: Any, msg: dict[str, Any], cfg: dict[str, Any], snapshot: Any = None) -> Any:
    """Speak the text; return the output message with the audio attached, or rebound the
    message when the server asks to wait long."""
    del snapshot  # stateless
    step = steps.start(self, msg, cfg, INPUT_SCHEMA_FILE)
    config = step.config
    request = speech_request(step.body, config.model)  # checked: nothing sent yet
    audio_format = speech_format(request)

    def work() -> dict[str, Any]:
        with create_speech(config.client(), request, timeout_s=config.timeout_s,
                           logger=self.logger, stop=step.stop) as audio:
            name, content_type = speech_file(audio_format, audio.media_type)
            stored = store_file(step.attachment_store, name, audio.chunks, content_type)
        self.logger.info("%s: %d bytes of %s stored as an attachment", stored.name,
                         stored.size, stored.content_type)
        return message_with_files(speech_output(request, audio_format, stored.reference()),
                                  stored)

    return steps.finish(step, work)
