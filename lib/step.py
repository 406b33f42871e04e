"""What every action does first and last, and the only place (with the actions) that
speaks to the runtime.

First: parse the step's configuration, validate the message body against the action's
input schema, warn when the message names another model than the step's, and give the
action the step's stop signal and its attachment downloads. Last: a call the stop signal
ended (`lib.openai.errors.CallInterruptedError`) becomes the sailor's
`ShutdownInterrupted`, which leaves the message to the broker for redelivery (nothing is
published, the message is not acknowledged); a server that asks to wait long
(`RetryLaterError`) gets the message rebounded instead of a sleep in the step, and so does
a message the step cannot take now (`lib.errors.ReboundError`); any other API error fails
the message or, as the step's On API error field says, goes on as a data message that the
flow can branch on.

The sailor gives `process` a `self.shutting_down` event (set on SIGTERM); outside the
sailor (tests, tools) the stop signal is an event nobody sets.
"""

from __future__ import annotations

import importlib
import inspect
import os
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from elasticio_sailor import ShutdownInterrupted
from elasticio_sailor.context import Rebounds

from lib.attachments.downloads import Downloads, download_policy_from
from lib.config import EMIT, StepConfig, parse_step_config
from lib.errors import ReboundError
from lib.openai.errors import CallInterruptedError, OpenAIError, RetryLaterError
from lib.openai.limits import CallLimits
from lib.openai.retry import MAX_RETRIES
from lib.validation import Misdirected, input_validator, validate_input

CALL_ATTEMPTS = MAX_RETRIES + 1
# The rebounds a long wait is counted in (each waits twice as long as the one before, so a
# few dozen cover any wait a server asks for).
MAX_COUNTED_REBOUNDS = 64


@dataclass(frozen=True)
class Step:
    """One message in one action: the context (`self`), the configuration, the validated
    body and the stop signal."""

    context: Any
    config: StepConfig
    body: dict[str, Any]
    stop: threading.Event
    message_attachments: Any = None  # the message's `attachments`, as it came

    @property
    def logger(self) -> Any:
        return self.context.logger

    @property
    def attachment_store(self) -> Any:
        """The runtime's attachment store (``self.attachments``): where files out go, and
        the reader of ``exec``'s local files; None outside the sailor."""
        return getattr(self.context, "attachments", None)

    def downloads(self, *, streamed_limit: int | None = None) -> Downloads:
        """The attachment downloads of this message (one byte budget, one deadline).

        With `streamed_limit` (the size limit of a file streamed to the API), every
        attempt of the call downloads the file again: the budget covers them all, and
        the deadline is the call's, since the download goes at the pace of the upload."""
        policy = download_policy_from(os.environ)
        if streamed_limit is None:
            return Downloads(policy, idle_timeout_s=self.config.timeout_s,
                             logger=self.logger, environ=os.environ)
        deadline_s = max(policy.deadline_s,
                         CallLimits().total_deadline_s(self.config.timeout_s))
        return Downloads(policy, idle_timeout_s=self.config.timeout_s, logger=self.logger,
                         environ=os.environ, max_total_bytes=streamed_limit * CALL_ATTEMPTS,
                         deadline_s=deadline_s)


def shutdown_signal(context: Any) -> threading.Event:
    """`context.shutting_down`, or an event that is never set."""
    signal = getattr(context, "shutting_down", None)
    return signal if isinstance(signal, threading.Event) else threading.Event()


def init_hook(schema_file: str, *, on_the_loop: bool = False) -> Callable[[Any], None]:
    """An action's `init(cfg)`, which the sailor calls once at start-up, before it consumes
    (as the Node sailor loads a module before it consumes): it compiles the action's input
    schema, and imports the async transport of an action that calls the API `on_the_loop`
    (aiohttp: ~0.15 s of CPU), so that the first messages, arriving together, do not pay
    for them."""

    def init(cfg: Any) -> None:
        del cfg  # the schema does not depend on the step
        input_validator(schema_file)
        if on_the_loop:
            importlib.import_module("lib.openai.aiohttp_transport")

    return init


def start(context: Any, msg: Any, cfg: dict[str, Any], schema_file: str, *,
          misdirected: Misdirected | None = None, needs_model: bool = True) -> Step:
    """Parse the configuration, validate the body (`misdirected`: the surface's signs of a
    body written for another action), warn about a model the message names
    (`needs_model`: whether the action has a Model field)."""
    config = parse_step_config(cfg, needs_model=needs_model)
    body = validate_input(msg.get("body") if isinstance(msg, dict) else None, schema_file,
                          misdirected)
    if needs_model and body.get("model") not in (None, config.model):
        context.logger.warning(
            "The message names model %s; the configured model %s is used",
            repr(str(body["model"])[:64]), repr(config.model),
        )
    return Step(context=context, config=config, body=body, stop=shutdown_signal(context),
                message_attachments=msg.get("attachments") if isinstance(msg, dict) else None)


def finish(step: Step, work: Callable[[], dict[str, Any]]) -> dict[str, Any] | None:
    """`work()`'s output message; `None` when the message was rebounded. A stopped call
    raises the sailor's `ShutdownInterrupted` with the call's own text. An API error
    (after the client's retries) fails the message, or with On API error "emit" becomes
    the output message (:func:`api_error_body`)."""
    try:
        return work()
    except (CallInterruptedError, OpenAIError, ReboundError) as err:
        output, _emitting = _finished_by(step, err)
        return output


async def finish_async(step: Step, work: Callable[[], Awaitable[dict[str, Any]]]
                       ) -> dict[str, Any] | None:
    """`finish` for an ``async def`` action: the same outcomes, a rebound's event awaited
    (from the event loop, `emit` hands back an awaitable)."""
    try:
        return await work()
    except (CallInterruptedError, OpenAIError, ReboundError) as err:
        output, emitting = _finished_by(step, err)
        if inspect.isawaitable(emitting):
            await emitting
        return output


def _finished_by(step: Step, err: CallInterruptedError | OpenAIError | ReboundError
                 ) -> tuple[dict[str, Any] | None, Any]:
    """The output message an error of `work` makes (see `finish`), and what the rebound's
    `emit` handed back."""
    if isinstance(err, CallInterruptedError):
        raise ShutdownInterrupted(str(err)) from None
    if isinstance(err, RetryLaterError | ReboundError):
        return None, rebound_later(step.context, err)
    if step.config.on_api_error != EMIT:
        raise err
    step.logger.warning("%s; On API error is 'emit': the error is emitted as a message",
                        str(err))
    return {"body": api_error_body(err)}, None


def api_error_body(err: OpenAIError) -> dict[str, Any]:
    """The body of an API error emitted as data: the API's own fields (redacted when the
    error was made), our hint after the message, and the request id."""
    message = f"{err.message}. Hint: {err.hint}" if err.hint else err.message
    return {
        "error": {"status": err.status, "type": err.type, "code": err.code,
                  "param": err.param, "message": message},
        "requestId": err.request_id,
    }


def rebound_later(context: Any, err: RetryLaterError | ReboundError) -> Any:
    """Send the message back to the queue instead of sleeping through a long Retry-After
    in the step (or taking a message it cannot take now). The platform, not the server,
    decides when it comes back: its delay starts at 15 s and doubles with each rebound
    (15 s, 30 s, 60 s, ...), up to its limit of rebounds (the sailor's `self.rebounds`
    says how many were done). The log and the reason say so; the reason is the short
    text, never a traceback. What `emit` handed back (an awaitable on the event loop)."""
    wait_s = err.retry_after_s if isinstance(err, RetryLaterError) else None
    reason, note = rebound_texts(str(err), wait_s, getattr(context, "rebounds", None))
    context.logger.warning("%s. %s", reason, note)
    return context.emit("rebound", reason)


def rebound_texts(text: str, wait_s: float | None, rebounds: Any) -> tuple[str, str]:
    """The rebound's reason (`text`, and which rebound of the limit this is) and the note
    on the platform's delays (and how many rebounds a server's wait of `wait_s` takes)."""
    if rebounds is None:  # outside the sailor: the platform's defaults
        rebounds = Rebounds()
    number, limit = rebounds.next, rebounds.limit
    if number > limit:
        reached = (f"The platform's limit of {limit} rebounds is reached: the message fails "
                   "with 'Rebound limit exceeded'")
        return f"{text}; over the platform's limit of {limit} rebounds", reached
    first = rebounds.delay_ms(1) / 1000
    note = (f"The platform delivers the message again in "
            f"{duration(rebounds.delay_ms(number) / 1000)}"
            f"{', not when the server asked' if wait_s is not None else ''}: its rebound "
            f"delay starts at {duration(first)} and doubles with each rebound "
            f"({duration(first)}, {duration(2 * first)}, {duration(4 * first)}, ...)")
    if wait_s is not None:
        waits, waited = 0, 0.0
        for iteration in range(number, min(limit, number + MAX_COUNTED_REBOUNDS) + 1):
            waits, waited = waits + 1, waited + rebounds.delay_ms(iteration) / 1000
            if waited >= wait_s:
                break
        note += (f", so a wait of {duration(wait_s)} takes about {waits} of the {limit} "
                 "rebounds allowed")
    return f"{text}; rebound {number} of {limit}", note


def duration(seconds: float) -> str:
    """``45 s``, ``4 min``, ``2.5 h``, ``91 days``: a wait as people read it."""
    for unit, size, above in (("days", 86400, 172800), ("h", 3600, 7200), ("min", 60, 120)):
        if seconds >= above:
            return f"{round(seconds / size, 1):g} {unit}"
    return f"{round(seconds, 1):g} s"
