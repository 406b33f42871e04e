"""Send Request: one incoming message -> one Chat Completions request -> one message out.

The body of the incoming message is a Chat Completions request without `model` (the step
configuration names the model). The outgoing body is the API's answer, whole; for JSON
answers each choice's message also carries `parsed`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from lib import step as steps
from lib.attachments.inline import log_inlined
from lib.chat import compatible_servers
from lib.chat.attachments import has_attachments, inline_attachments
from lib.chat.output import build_output
from lib.chat.request import build_request_body, misdirected
from lib.model_list import getModels
from lib.openai.chat import create_chat_completion
from lib.openai.errors import CallInterruptedError

__all__ = ["getModels", "init", "process"]  # getModels: the select model of the Model field

INPUT_SCHEMA_FILE = "sendRequest.in.json"
init = steps.init_hook(INPUT_SCHEMA_FILE, on_the_loop=True)  # called by the sailor at start-up


async def process(self: Any, msg: dict[str, Any], cfg: dict[str, Any],
                  snapshot: Any = None) -> Any:
    """Send the request; return the output message, or rebound it when asked to wait long.

    An ``async def``: the sailor runs it on its event loop, where the call waits for the
    model (and reads its stream) without a thread of its own; downloading the message's
    attachments, blocking I/O, is done in a worker thread."""
    del snapshot  # stateless
    step = steps.start(self, msg, cfg, INPUT_SCHEMA_FILE, misdirected=misdirected)
    config = step.config
    client = config.async_client()
    messages = step.body["messages"]  # without attachments, sent as they are (a copy below)
    if has_attachments(messages):
        messages, inlined = await asyncio.to_thread(
            inline_attachments, messages, step.downloads())
        log_inlined(self.logger, inlined)
    request = build_request_body(
        {**step.body, "messages": messages}, config.model, config.server_type
    )

    async def send(request_body: dict[str, Any]) -> dict[str, Any]:
        return await create_chat_completion(client, request_body, timeout_s=config.timeout_s,
                                            logger=self.logger, stop=step.stop)

    async def work() -> dict[str, Any]:
        try:
            response = await compatible_servers.send_with_fallback(
                send, request, config.server_type, self.logger
            )
        except CallInterruptedError:
            self.logger.info("The step is shutting down: the API call was stopped and the "
                             "message is left for redelivery")
            raise
        return {"body": build_output(request, response)}

    return await steps.finish_async(step, work)
