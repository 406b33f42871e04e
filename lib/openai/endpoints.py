"""Calls of one JSON request and its JSON answer, and which endpoint failed.

Compatible servers (llama.cpp, Ollama, vLLM, LM Studio, proxies) offer some of the API's
endpoints and not others; their 404 bodies say no more than "Not Found". A call made by
:func:`post_json` (or wrapped in :func:`naming_endpoint`) turns such a 404 into an error
that says which endpoint the server lacks, keeping the client's hint about the base URL
(``lib.openai.paths``). A 404 about the model (``model_not_found`` and the like) is left
as it is.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from lib.openai.client import OpenAIClient
from lib.openai.errors import NotFoundError, is_about_the_model
from lib.openai.limits import AnswerLimits


def endpoint_missing(error: NotFoundError, endpoint: str) -> NotFoundError:
    """`error` (a 404) as the server lacking `endpoint` (``POST /embeddings``)."""
    missing = NotFoundError(
        f"The server has no {endpoint} endpoint ({error.message}): this server does not "
        "offer this API; check the base URL, or use a server that offers it",
        status=error.status, type=error.type, code=error.code, param=error.param,
        request_id=error.request_id, hint=error.hint)
    missing.attempts = error.attempts
    return missing


@contextmanager
def naming_endpoint(endpoint: str) -> Iterator[None]:
    """A 404 raised inside, unless it is about the model, names `endpoint`."""
    try:
        yield
    except NotFoundError as error:
        if is_about_the_model(error):
            raise
        raise endpoint_missing(error, endpoint) from None


def post_json(
    client: OpenAIClient,
    path: str,
    body: Mapping[str, Any],
    *,
    timeout_s: float,
    logger: Any = None,
    stop: threading.Event | None = None,
    answer_limits: AnswerLimits | None = None,
) -> dict[str, Any]:
    """POST `path` with a JSON body: the JSON answer. A server without the endpoint fails
    with an error that names it; `stop` and `answer_limits` as for the client's calls."""
    with naming_endpoint(f"POST {path}"):
        return client.request_json("POST", path, body, timeout_s=timeout_s, logger=logger,
                                   stop=stop, answer_limits=answer_limits)
