"""Create Embeddings: one incoming message -> its texts' embeddings -> one message out.

The body of the incoming message is an Embeddings request without `model` (the step
configuration names the model). The outgoing body is the API's answer, whole; a list of
texts longer than one request takes is sent in several requests and their answers merged
in input order (see ``lib.embeddings``).
"""

from __future__ import annotations

from typing import Any

from lib import step as steps
from lib.embeddings.request import build_embeddings_request
from lib.embeddings.run import send_embeddings
from lib.model_list import getEmbeddingModels

__all__ = ["getEmbeddingModels", "init", "process"]  # getEmbeddingModels: the Model field's select

INPUT_SCHEMA_FILE = "createEmbeddings.in.json"
init = steps.init_hook(INPUT_SCHEMA_FILE)  # called by the sailor at start-up


def process(self: Any, msg: dict[str, Any], cfg: dict[str, Any], snapshot: Any = None) -> Any:
    """Embed the texts; return the output message, or rebound it when asked to wait long."""
    del snapshot  # stateless
    step = steps.start(self, msg, cfg, INPUT_SCHEMA_FILE)
    config = step.config
    request = build_embeddings_request(step.body, config.model)  # bounds checked: nothing sent

    def work() -> dict[str, Any]:
        answer = send_embeddings(config.client(), request, timeout_s=config.timeout_s,
                                 logger=self.logger, stop=step.stop)
        return {"body": answer}

    return steps.finish(step, work)
