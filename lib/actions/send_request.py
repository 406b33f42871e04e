"""Send Request: one incoming message -> one Chat Completions request -> one message out.

The body of the incoming message is a Chat Completions request without `model` (the step
configuration names the model). The outgoing body is the API's answer, whole; for JSON
answers each choice's message also carries `parsed`.
"""

from __future__ import annotations

import os
from typing import Any

from elasticio_sailor import ShutdownInterrupted

from lib import compat
from lib.attachments import inline_attachments, log_inlined
from lib.config import parse_action_config
from lib.downloads import Downloads, download_policy_from
from lib.models import getModels  # noqa: F401 - the select model of the Model field
from lib.openai.errors import RetryLaterError
from lib.output import build_output
from lib.rebound import rebound_later
from lib.request_body import build_request_body
from lib.shutdown import shutdown_signal
from lib.validation import validate_input


def process(self: Any, msg: dict[str, Any], cfg: dict[str, Any], snapshot: Any = None) -> Any:
    """Send the request; return the output message, or rebound it when asked to wait long."""
    del snapshot  # stateless
    config = parse_action_config(cfg)
    body = validate_input(msg.get("body") if isinstance(msg, dict) else None)
    if body.get("model") not in (None, config.model):
        self.logger.warning(
            "The message names model %s; the configured model %s is used",
            repr(str(body["model"])[:64]), repr(config.model),
        )

    connection = config.connection
    client = connection.client()
    downloads = Downloads(download_policy_from(os.environ), idle_timeout_s=config.timeout_s,
                          logger=self.logger, environ=os.environ)
    messages, inlined = inline_attachments(body["messages"], downloads)
    log_inlined(self.logger, inlined)
    request = build_request_body(
        {**body, "messages": messages}, config.model, connection.server_type
    )

    def send(request_body: dict[str, Any]) -> dict[str, Any]:
        return client.create_chat_completion(
            request_body, timeout_s=config.timeout_s, logger=self.logger,
            stop=shutdown_signal(self),
        )

    try:
        response = compat.create_chat_completion(
            send, request, connection.server_type, self.logger
        )
    except ShutdownInterrupted:
        self.logger.info("The step is shutting down: the API call was stopped and the "
                         "message is left for redelivery")
        raise
    except RetryLaterError as err:
        rebound_later(self, err)
        return None
    return {"body": build_output(request, response)}
