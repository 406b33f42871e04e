"""Create Response: one incoming message -> one Responses API call -> one message out.

The body of the incoming message is a Responses API request without `model` (the step
configuration names the model). The outgoing body is the final Response, whole, plus
`output_text` and, for JSON formats, `parsed`. Background jobs are polled to their end
and survive a restart of the step (see ``lib.responses.run``). `process` is a coroutine
run on the sailor's event loop, so that hundreds of jobs can wait for their next poll
without a thread each.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from lib import step as steps
from lib.attachments.inline import log_inlined
from lib.model_list import getResponseModels
from lib.redaction import Redactor
from lib.responses.attachments import has_attachments, inline_response_attachments
from lib.responses.jobs import JOBS, max_jobs_from, message_key
from lib.responses.output import build_response_output, incomplete_warning
from lib.responses.polling import BackgroundWait, schedule_from
from lib.responses.request import build_response_request, misdirected
from lib.responses.run import ResponseRun, SnapshotWrites

__all__ = ["getResponseModels", "init", "process"]  # getResponseModels: the Model field's select

INPUT_SCHEMA_FILE = "createResponse.in.json"
init = steps.init_hook(INPUT_SCHEMA_FILE, on_the_loop=True)  # called by the sailor at start-up


async def process(self: Any, msg: dict[str, Any], cfg: dict[str, Any],
                  snapshot: Any = None) -> Any:
    """Create (or resume) the response; return the output message, or rebound the message
    when the server asks to wait long (or the snapshot holds as many jobs as it may).

    A coroutine on the sailor's event loop: the API calls and the waits between polls
    take no thread; the attachments are downloaded in one, and only for a job created."""
    step = steps.start(self, msg, cfg, INPUT_SCHEMA_FILE, misdirected=misdirected)
    config = step.config
    client = config.async_client()
    request = build_response_request(step.body, config.model)

    def with_attachments() -> dict[str, Any]:
        """The request with its attachments inlined (blocking: run in a thread)."""
        inlined_request, inlined = inline_response_attachments(request, step.downloads())
        log_inlined(self.logger, inlined)
        return inlined_request

    async def prepare() -> dict[str, Any]:
        """The body to send: only for a job that is created (a resumed one has it)."""
        if not has_attachments(request):
            return request
        return await asyncio.to_thread(with_attachments)

    JOBS.adopt(snapshot)
    run = ResponseRun(
        client=client, logger=self.logger, timeout_s=config.timeout_s,
        longest_wait_s=config.longest_wait_s,
        waiter=BackgroundWait(client=client, logger=self.logger, timeout_s=config.timeout_s,
                              stop=step.stop, schedule=schedule_from(os.environ)),
        jobs=JOBS, snapshot=SnapshotWrites(self.emit, JOBS.write_failed),
        stop=step.stop, max_jobs=max_jobs_from(os.environ),
    )
    await run.cancel_stale()

    async def work() -> dict[str, Any]:
        response = await run.run(message_key(msg), request, prepare)
        output = build_response_output(request, response, Redactor([config.api_key]))
        if output.get("status") == "incomplete":
            self.logger.warning("%s", incomplete_warning(output))
        return {"body": output}

    return await steps.finish_async(step, work)
