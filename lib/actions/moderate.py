"""Moderate: one incoming message -> one Moderations request -> one message out.

The body of the incoming message is a Moderations request without `model` (the step
configuration names the model): texts, or texts and images, the images named by a URL or
by an attachment of the message (see ``lib.moderations``). The outgoing body is the API's
answer, whole.
"""

from __future__ import annotations

from typing import Any

from lib import step as steps
from lib.attachments.inline import log_inlined
from lib.model_list import getModerationModels
from lib.moderations.attachments import incoming_attachments, with_readable_images
from lib.moderations.request import build_moderation_request
from lib.openai.moderations import create_moderation

__all__ = ["getModerationModels", "init", "process"]  # getModerationModels: the Model field

INPUT_SCHEMA_FILE = "moderate.in.json"
init = steps.init_hook(INPUT_SCHEMA_FILE)  # called by the sailor at start-up


def process(self: Any, msg: dict[str, Any], cfg: dict[str, Any], snapshot: Any = None) -> Any:
    """Classify the input; return the output message, or rebound it when asked to wait long."""
    del snapshot  # stateless
    step = steps.start(self, msg, cfg, INPUT_SCHEMA_FILE)
    config = step.config
    request = build_moderation_request(step.body, config.model)
    request, inlined = with_readable_images(request, incoming_attachments(msg), step.downloads(),
                                            local=step.attachment_store)
    log_inlined(self.logger, inlined)

    def work() -> dict[str, Any]:
        answer = create_moderation(config.client(), request, timeout_s=config.timeout_s,
                                   logger=self.logger, stop=step.stop)
        return {"body": answer}

    return steps.finish(step, work)
