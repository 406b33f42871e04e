"""The Responses API calls: create (plain or streamed), retrieve, cancel.

Thin wrappers over the client's request machinery: they know the paths and what each
call returns; the stream of events is assembled by ``lib.openai.response_stream``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

from lib.openai.client import OpenAIClient
from lib.openai.errors import OpenAIError
from lib.openai.response_stream import assemble_response

RESPONSES_PATH = "/responses"
# a status after which nothing changes any more
TERMINAL_STATUSES = frozenset({"completed", "failed", "incomplete", "cancelled"})
# the job still runs (background mode)
RUNNING_STATUSES = frozenset({"queued", "in_progress"})


def response_path(response_id: str) -> str:
    """``/responses/{id}``, the id escaped (it comes from a server or a snapshot)."""
    return f"{RESPONSES_PATH}/{quote(response_id, safe='')}"


def create_response(
    client: OpenAIClient,
    body: Mapping[str, Any],
    *,
    timeout_s: float,
    logger: Any = None,
    on_created: Callable[[dict[str, Any]], None] | None = None,
    stop: threading.Event | None = None,
) -> dict[str, Any]:
    """POST /responses. With `stream: true` the events are assembled into the final
    Response (`timeout_s` is then the longest silence between two events); `on_created`
    gets the Response of the first event (its `id`), `stop` ends the reading between
    events (see `assemble_response`)."""
    if body.get("stream") is not True:
        return client.request_json("POST", RESPONSES_PATH, body, timeout_s=timeout_s,
                                   logger=logger)
    answer = client.post_for_events(RESPONSES_PATH, body, timeout_s=timeout_s, logger=logger)
    if isinstance(answer, dict):  # a compatible server that ignored `stream: true`
        return answer
    with answer:
        return assemble_response(answer.events, answer.request_id, answer.redactor,
                                 on_created=on_created, stop=stop)


def retrieve_response(
    client: OpenAIClient, response_id: str, *, timeout_s: float, logger: Any = None,
    stop: threading.Event | None = None,
) -> dict[str, Any]:
    """GET /responses/{id}: the Response as it is now (`stop` ends the call, and its
    retries, when the step shuts down)."""
    return client.request_json("GET", response_path(response_id), timeout_s=timeout_s,
                               logger=logger, stop=stop)


def cancel_response(
    client: OpenAIClient, response_id: str, *, timeout_s: float, logger: Any = None
) -> dict[str, Any]:
    """POST /responses/{id}/cancel: the Response, `cancelled` (or its final status)."""
    return client.request_json("POST", f"{response_path(response_id)}/cancel",
                               timeout_s=timeout_s, logger=logger)


def status_of(response: Mapping[str, Any]) -> str:
    """The Response's status; a Response without one is taken as completed (the schema
    leaves `status` optional; compatible servers omit it)."""
    status = response.get("status")
    return status if isinstance(status, str) and status else "completed"


def response_id_of(response: Mapping[str, Any]) -> str:
    """The Response's `id`; a Response without one cannot be polled."""
    response_id = response.get("id")
    if not isinstance(response_id, str) or not response_id:
        raise OpenAIError("The server answered a Response without an id; check the base URL")
    return response_id
