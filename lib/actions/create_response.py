"""Create Response: one incoming message -> one Responses API call -> one message out.

The body of the incoming message is a Responses API request without `model` (the step
configuration names the model). The outgoing body is the final Response, whole, plus
`output_text` and, for JSON formats, `parsed`. Background jobs are polled to their end
and survive a restart of the step (see ``lib.response_run``).
"""

from __future__ import annotations

import os
from typing import Any

from lib.attachments import log_inlined
from lib.background import BackgroundWait, schedule_from
from lib.downloads import Downloads, download_policy_from
from lib.models import is_responses_model, offered_models
from lib.openai.errors import RetryLaterError
from lib.rebound import rebound_later
from lib.redaction import Redactor
from lib.response_attachments import inline_response_attachments
from lib.response_config import parse_response_config
from lib.response_jobs import JOBS, message_key
from lib.response_output import build_response_output, incomplete_warning
from lib.response_request import build_response_request
from lib.response_run import ResponseRun
from lib.shutdown import shutdown_signal
from lib.validation import validate_input

INPUT_SCHEMA_FILE = "createResponse.in.json"


def getResponseModels(self: Any, cfg: dict[str, Any]) -> dict[str, str]:  # noqa: N802
    """Select model of the Model field: every model the Responses API takes (-pro, deep
    research and codex models included)."""
    return offered_models(self, cfg, is_responses_model)


def process(self: Any, msg: dict[str, Any], cfg: dict[str, Any], snapshot: Any = None) -> Any:
    """Create (or resume) the response; return the output message, or rebound the message
    when the server asks to wait long."""
    config = parse_response_config(cfg)
    action = config.action
    body = validate_input(msg.get("body") if isinstance(msg, dict) else None,
                          INPUT_SCHEMA_FILE)
    if body.get("model") not in (None, action.model):
        self.logger.warning(
            "The message names model %s; the configured model %s is used",
            repr(str(body["model"])[:64]), repr(action.model),
        )

    client = action.connection.client()
    request = build_response_request(body, action.model)

    def with_attachments() -> dict[str, Any]:
        """The request with its attachments inlined: only for a job that is created."""
        downloads = Downloads(download_policy_from(os.environ),
                              idle_timeout_s=action.timeout_s, logger=self.logger,
                              environ=os.environ)
        inlined_request, inlined = inline_response_attachments(request, downloads)
        log_inlined(self.logger, inlined)
        return inlined_request

    stop = shutdown_signal(self)
    JOBS.adopt(snapshot)
    run = ResponseRun(
        client=client, logger=self.logger, timeout_s=action.timeout_s,
        longest_wait_s=config.longest_wait_s,
        waiter=BackgroundWait(client=client, logger=self.logger,
                              request_timeout_s=action.timeout_s, stop=stop,
                              schedule=schedule_from(os.environ)),
        jobs=JOBS, publish=lambda entries: self.emit("updateSnapshot", entries), stop=stop,
    )
    run.cancel_stale()
    try:
        response = run.run(message_key(msg), with_attachments)
    except RetryLaterError as err:
        rebound_later(self, err)
        return None
    output = build_response_output(request, response, Redactor([action.connection.api_key]))
    if output.get("status") == "incomplete":
        self.logger.warning("%s", incomplete_warning(output))
    return {"body": output}
