"""Assembly of a streamed Responses API answer into the final Response.

Every event names its kind in `type` (the SSE `event:` line repeats it). The Response
itself comes with `response.created` (then `queued`/`in_progress` while it runs) and,
whole, with the terminal event: `response.completed`, `response.incomplete` or
`response.failed`. The assembler keeps the latest Response and the finished output items
(`response.output_item.done`); the deltas in between are progress only. An `error`
event (flat `{type, code, message}` or nested `{error: {...}}`) is a `StreamError`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from elasticio_sailor import ShutdownInterrupted

from lib.openai.errors import NO_SECRETS, StreamError, error_from_event
from lib.openai.streaming import ServerSentEvent, parse_event
from lib.redaction import Redactor

TERMINAL_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})
ERROR_EVENT = "error"
ITEM_DONE_EVENT = "response.output_item.done"


class ResponseAssembler:
    """Folds Responses API stream events into the final Response."""

    def __init__(self) -> None:
        self.response: dict[str, Any] | None = None
        self.items: dict[int, dict[str, Any]] = {}
        self.finished = False
        self.event_count = 0
        self.last_sequence_number: int | None = None

    def add(self, event: dict[str, Any], request_id: str | None = None,
            redactor: Redactor = NO_SECRETS) -> None:
        """Fold one event in; an `error` event raises `StreamError`."""
        self.event_count += 1
        kind = event.get("type")
        if kind == ERROR_EVENT:
            raise error_from_event(event, request_id, redactor)
        sequence_number = event.get("sequence_number")
        if isinstance(sequence_number, int):
            self.last_sequence_number = sequence_number
        response = event.get("response")
        if isinstance(response, dict):
            self.response = response
            self.finished = self.finished or kind in TERMINAL_EVENTS
        if kind == ITEM_DONE_EVENT and isinstance(event.get("item"), dict):
            index = event.get("output_index")
            self.items[index if isinstance(index, int) else len(self.items)] = event["item"]

    def result(self) -> dict[str, Any]:
        """The final Response; its items from the `output_item.done` events when the
        terminal event came without them (some compatible servers)."""
        response = dict(self.response or {})
        if not response.get("output") and self.items:
            response["output"] = [self.items[i] for i in sorted(self.items)]
        return response


def assemble_response(
    events: Iterable[ServerSentEvent],
    request_id: str | None = None,
    redactor: Redactor = NO_SECRETS,
    *,
    on_created: Callable[[dict[str, Any]], None] | None = None,
    stop: threading.Event | None = None,
) -> dict[str, Any]:
    """Read events up to the terminal one and return the final Response.

    `on_created` is called once, with the first Response the stream names (so that a
    background job's id is known before anything else happens). When `stop` is set the
    reading ends between two events with the sailor's `ShutdownInterrupted`.
    """
    assembler = ResponseAssembler()
    announced = False
    for event in events:
        data = parse_event(event, request_id, redactor)
        if data is None:  # `[DONE]`: not sent by OpenAI, by some compatible servers
            break
        assembler.add(data, request_id, redactor)
        if not announced and assembler.response is not None and on_created is not None:
            announced = True
            on_created(assembler.response)
        if assembler.finished:
            return assembler.result()
        if stop is not None and stop.is_set():
            raise ShutdownInterrupted("the step is shutting down; the response stream was left")
    if not assembler.finished:
        raise StreamError(
            f"The stream ended before the response was finished "
            f"({assembler.event_count} events received)",
            request_id=request_id,
        )
    return assembler.result()
