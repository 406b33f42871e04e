"""The Responses API calls (create, plain or streamed; retrieve; cancel), and the assembly
of a streamed answer into the final Response.

The calls are thin wrappers over the async client's request machinery
(``lib.openai.async_client``: Create Response runs on the sailor's event loop): they know
the paths and what each call returns. In a stream every event names its kind in `type`
(the SSE `event:` line repeats it). The Response itself comes with `response.created`
(then `queued`/`in_progress` while it runs) and, whole, with the terminal event:
`response.completed`, `response.incomplete` or `response.failed`. The assembler keeps
the latest Response and the finished output items (`response.output_item.done`); the
deltas in between are progress only. An `error` event (flat `{type, code, message}` or
nested `{error: {...}}`) is a `StreamError`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import AsyncIterable, Awaitable, Callable, Mapping
from typing import Any, TypeGuard
from urllib.parse import quote

from lib.openai.async_client import AsyncOpenAIClient
from lib.openai.budget import AnswerBudget
from lib.openai.errors import (
    NO_SECRETS,
    AnswerTooLargeError,
    CallInterruptedError,
    NotResentError,
    OpenAIError,
    StreamError,
    error_from_event,
    shown,
)
from lib.openai.limits import MAX_OUTPUT_ITEMS, CallLimits
from lib.openai.paths import RESPONSES_PATH
from lib.openai.sse import ServerSentEvent, parse_event
from lib.redaction import OWN_SECRETS, Redactor

# the job still runs (background mode)
RUNNING_STATUSES = frozenset({"queued", "in_progress"})
TERMINAL_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})
ERROR_EVENT = "error"
ITEM_DONE_EVENT = "response.output_item.done"
_STATUS = re.compile(r"[a-z_]{1,32}")
# The documented shape of a Response id (OpenAI's are `resp_` and 48 hex digits): a
# server-chosen id goes into request paths, log lines and the step's snapshot.
RESPONSE_ID_PREFIX = "resp_"
MAX_RESPONSE_ID_CHARS = 128
_RESPONSE_ID = re.compile(
    rf"{RESPONSE_ID_PREFIX}[A-Za-z0-9_-]{{1,{MAX_RESPONSE_ID_CHARS - len(RESPONSE_ID_PREFIX)}}}")


def response_path(response_id: str) -> str:
    """``/responses/{id}``, the id escaped (it comes from a server or a snapshot)."""
    return f"{RESPONSES_PATH}/{quote(response_id, safe='')}"


async def create_response(
    client: AsyncOpenAIClient,
    body: Mapping[str, Any],
    *,
    timeout_s: float,
    logger: Any = None,
    on_created: Callable[[dict[str, Any]], Awaitable[None]] | None = None,
    stop: threading.Event | None = None,
    follow: bool = True,
    idempotent: bool = True,
) -> dict[str, Any]:
    """POST /responses. With `stream: true` the events are assembled into the final
    Response (`timeout_s` is then the longest silence between two events); `on_created`
    gets the Response of the first event (its `id`), `stop` ends the reading between
    events, `follow=False` ends it at that first Response (see `assemble_response`). A
    call that may start a billable job (a background one) passes ``idempotent=False``:
    it is sent at most once once it may have reached the server, and a failure before the
    first Response is a `NotResentError`."""
    if body.get("stream") is not True:
        return await client.request_json("POST", RESPONSES_PATH, body, timeout_s=timeout_s,
                                         logger=logger, idempotent=idempotent)
    answer = await client.post_for_events(RESPONSES_PATH, body, timeout_s=timeout_s,
                                          logger=logger, idempotent=idempotent)
    if isinstance(answer, dict):  # a compatible server that ignored `stream: true`
        return answer
    async with answer:
        response = await assemble_response(
            answer.events, answer.request_id, answer.redactor, on_created=on_created,
            stop=stop, follow=follow, idempotent=idempotent, budget=answer.budget())
        if follow:  # read to its end (a stream left early is closed instead)
            await answer.release()  # the connection back to the pool
        return response


async def retrieve_response(
    client: AsyncOpenAIClient, response_id: str, *, timeout_s: float, logger: Any = None,
    stop: threading.Event | None = None,
) -> dict[str, Any]:
    """GET /responses/{id}: the Response as it is now (`stop` ends the call, and its
    retries, when the step shuts down)."""
    return await client.request_json("GET", response_path(response_id), timeout_s=timeout_s,
                                     logger=logger, stop=stop)


async def cancel_response(
    client: AsyncOpenAIClient, response_id: str, *, timeout_s: float, logger: Any = None
) -> dict[str, Any]:
    """POST /responses/{id}/cancel: the Response, `cancelled` (or its final status)."""
    return await client.request_json("POST", f"{response_path(response_id)}/cancel",
                                     timeout_s=timeout_s, logger=logger)


def status_of(response: Mapping[str, Any]) -> str:
    """The Response's status; a Response without one is taken as completed (the schema
    leaves `status` optional; compatible servers omit it), and one that is no status word
    (a server's echo, a long text) as `unknown` (not running: it is not polled)."""
    status = response.get("status")
    if not isinstance(status, str) or not status:
        return "completed"
    return status if _STATUS.fullmatch(status) else "unknown"


def response_id_of(response: Mapping[str, Any]) -> str:
    """The Response's `id`, of the documented shape (`resp_` and at most 123 letters,
    digits, `_` or `-`) and free of the process's secrets: safe in a path, a log line and
    the snapshot. Anything else is an `OpenAIError` (such a Response cannot be polled)."""
    response_id = response.get("id")
    if not isinstance(response_id, str) or not response_id:
        raise OpenAIError("The server answered a Response without an id; check the base URL")
    if not is_response_id(response_id):
        raise OpenAIError(
            f"The server answered a Response whose id {shown(response_id, 60)!r} is not of "
            f"the documented shape ({RESPONSE_ID_PREFIX} and at most "
            f"{MAX_RESPONSE_ID_CHARS - len(RESPONSE_ID_PREFIX)} letters, digits, '_' or '-'); "
            "check the base URL")
    return response_id


def is_response_id(value: object) -> TypeGuard[str]:
    """Whether `value` is a Response id of the documented shape, free of the process's
    secrets (see `response_id_of`)."""
    return isinstance(value, str) and _RESPONSE_ID.fullmatch(value) is not None \
        and OWN_SECRETS.redactor().redact(value) == value


def shown_id(response: Mapping[str, Any]) -> str:
    """The Response's `id` as texts show it (whatever its shape: redacted and cut)."""
    return shown(response.get("id"), MAX_RESPONSE_ID_CHARS) or ""


class ResponseAssembler:
    """Folds Responses API stream events into the final Response, within `budget`: what it
    keeps (the latest Response and the finished items) is counted as it comes, and at most
    MAX_OUTPUT_ITEMS items are kept."""

    def __init__(self, budget: AnswerBudget | None = None) -> None:
        self._budget = budget or CallLimits().answer_budget()
        self.response: dict[str, Any] | None = None
        self.items: dict[int, dict[str, Any]] = {}
        self.finished = False
        self.event_count = 0
        self.last_sequence_number: int | None = None

    def add(self, event: dict[str, Any], request_id: str | None = None,
            redactor: Redactor = NO_SECRETS, data: str = "") -> None:
        """Fold one event in (`data`: its text, counted for what is kept); an `error`
        event raises `StreamError`."""
        self.event_count += 1
        kind = event.get("type")
        if kind == ERROR_EVENT:
            raise error_from_event(event, request_id, redactor)
        sequence_number = event.get("sequence_number")
        if isinstance(sequence_number, int):
            self.last_sequence_number = sequence_number
        response = event.get("response")
        if isinstance(response, dict):
            self._budget.check_beside_kept(data)  # it replaces the Response kept before
            self.response = response
            self.finished = self.finished or kind in TERMINAL_EVENTS
        if kind == ITEM_DONE_EVENT and isinstance(event.get("item"), dict):
            if len(self.items) >= MAX_OUTPUT_ITEMS:
                raise AnswerTooLargeError(
                    f"The stream sent more than {MAX_OUTPUT_ITEMS} output items; it is not "
                    "read further", request_id=request_id)
            self._budget.keep_json(data)
            index = event.get("output_index")
            self.items[index if isinstance(index, int) else len(self.items)] = event["item"]

    def result(self) -> dict[str, Any]:
        """The final Response; its items from the `output_item.done` events when the
        terminal event came without them (some compatible servers)."""
        response = dict(self.response or {})
        if not response.get("output") and self.items:
            response["output"] = [self.items[i] for i in sorted(self.items)]
        return response


async def assemble_response(
    events: AsyncIterable[ServerSentEvent],
    request_id: str | None = None,
    redactor: Redactor = NO_SECRETS,
    *,
    on_created: Callable[[dict[str, Any]], Awaitable[None]] | None = None,
    stop: threading.Event | None = None,
    follow: bool = True,
    idempotent: bool = True,
    budget: AnswerBudget | None = None,
) -> dict[str, Any]:
    """Read events up to the terminal one and return the final Response (within
    `budget`: what it keeps).

    `on_created` is called once, with the first Response the stream names (so that a
    background job's id is known before anything else happens); with `follow=False` that
    Response is returned then (the caller polls the job). When `stop` is set the reading
    ends between two events with `CallInterruptedError`. For a call that is not
    `idempotent`, a failure before the first Response was taken (the stream broke, ended,
    or named an id `on_created` refused) is a `NotResentError`: the job may exist.
    """
    assembler = ResponseAssembler(budget or CallLimits().answer_budget(request_id))
    announced = False
    try:
        async for event in events:
            data = parse_event(event, request_id, redactor)
            if data is None:  # `[DONE]`: not sent by OpenAI, by some compatible servers
                break
            assembler.add(data, request_id, redactor, event.data)
            if not announced and assembler.response is not None:
                if on_created is not None:
                    await on_created(assembler.response)
                announced = True
            if assembler.finished:
                return assembler.result()
            if announced and not follow:
                return dict(assembler.response or {})
            if stop is not None and stop.is_set():
                raise CallInterruptedError(
                    "the step is shutting down; the response stream was left")
        if not assembler.finished:
            raise StreamError(
                f"The stream ended before the response was finished "
                f"({assembler.event_count} events received)",
                request_id=request_id,
            )
    except OpenAIError as exc:
        if idempotent or announced:
            raise
        raise NotResentError(exc) from None
    return assembler.result()
