"""Generate Image: one message with a prompt -> the images -> one message with the images
as attachments.

The body is an image generation request without `model` (the step names the model). The
images are decoded from the answer as it arrives, stored in the platform's object storage
and emitted as attachments (``image-1.png``...); the outgoing body is the API's answer
with each image replaced by its attachment (name, size, content type), never the image.
A generation is billed: once it may have reached the server it is not sent again.
"""

from __future__ import annotations

from typing import Any

from lib import step as steps
from lib.images.request import generation_request, requested_count
from lib.images.run import images_message
from lib.model_list import getImageModels
from lib.openai.images import create_images

__all__ = ["getImageModels", "init", "process"]  # getImageModels: the Model field's select

INPUT_SCHEMA_FILE = "generateImage.in.json"
init = steps.init_hook(INPUT_SCHEMA_FILE)  # called by the sailor at start-up


def process(self: Any, msg: dict[str, Any], cfg: dict[str, Any], snapshot: Any = None) -> Any:
    """Generate the images; return the output message with them attached, or rebound the
    message when the server asks to wait long."""
    del snapshot  # stateless
    step = steps.start(self, msg, cfg, INPUT_SCHEMA_FILE)
    config = step.config
    request = generation_request(step.body, config.model)  # checked: nothing sent yet

    def work() -> dict[str, Any]:
        return images_message(
            lambda open_sink: create_images(
                config.client(), request, open_sink, images=requested_count(request),
                timeout_s=config.timeout_s, logger=self.logger, stop=step.stop),
            store=step.attachment_store, downloads=step.downloads,
            output_format=request.get("output_format"), logger=self.logger)

    return steps.finish(step, work)
