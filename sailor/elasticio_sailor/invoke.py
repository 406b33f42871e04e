"""Calling a component's function the same way in every mode (process, hooks, service),
and the one set of rules that turns the outcome of ``process`` into events."""

from __future__ import annotations

import asyncio
import contextvars
import enum
import functools
import inspect
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import SailorError, ShutdownInterrupted
from .jsvalues import is_truthy

if TYPE_CHECKING:
    from .context import ComponentContext


@dataclass(frozen=True)
class Raised:
    """The exception a component function raised, carried as a value: raised again
    across asyncio's futures and coroutines, some classes would lose their text
    (``GeneratorExit``) or turn into others (``StopIteration``)."""

    error: BaseException


async def call_component(
    function: Callable[..., Any], *args: Any, pool: Executor | None = None,
) -> Any:
    """Await an ``async def`` function; run a sync one in a worker thread of ``pool``
    (default: the event loop's), so the event loop (and with it the AMQP heartbeats)
    never waits for component code. There ``self.emit`` blocks until the event is handled."""
    outcome = await outcome_of(function, *args, pool=pool)
    if isinstance(outcome, Raised):
        raise outcome.error
    return outcome


async def outcome_of(
    function: Callable[..., Any], *args: Any, pool: Executor | None = None,
) -> Any:
    """What :func:`call_component` returns, or :class:`Raised` with what the function
    raised, whatever its class; only the sailor's own cancellation passes through."""
    try:
        if inspect.iscoroutinefunction(function):
            return await function(*args)
        call = functools.partial(_returned_or_raised, function, *args)
        result = await asyncio.get_running_loop().run_in_executor(
            pool, functools.partial(contextvars.copy_context().run, call))
        if isinstance(result, Raised) or not inspect.isawaitable(result):
            return result
        return await result
    except BaseException as exc:
        if _cancelled_by_sailor():
            raise
        return Raised(exc)


def _returned_or_raised(function: Callable[..., Any], *args: Any) -> Any:
    """Runs in the worker thread."""
    try:
        return function(*args)
    except BaseException as exc:  # noqa: BLE001 - carried to the event loop as a value
        return Raised(exc)


class Ending(enum.Enum):
    """How a ``process`` call ended for its message."""

    FINISHED = "finished"  # every event is handled, ``end`` included
    INTERRUPTED = "interrupted"  # stopped for the shutdown: nothing more is emitted


async def run_process(
    context: ComponentContext, process: Any, msg: Any, cfg: Any, snapshot: Any,
    *, pool: Executor | None = None,
) -> Ending:
    """Call ``process`` and turn its outcome into events, alike in task mode and ``exec``
    (docs/protocol.md#result-handling).

    A returned value that JavaScript would call truthy becomes ``data`` (a falsy one,
    ``None``, ``False``, ``0``, ``""``, ends without data); an exception of any class,
    ``BaseException`` included, becomes ``error``; then ``end`` follows, unless the
    component emitted it. ``ShutdownInterrupted`` while the sailor shuts down emits
    nothing more: the caller leaves the message to the broker. Only the sailor's own
    cancellation of the running task passes through.
    """
    if not callable(process):
        await context.deliver("error", SailorError("Process function is not found"))
        await context.end_automatically()
        return Ending.FINISHED
    result = await outcome_of(process, context, msg, cfg, snapshot, pool=pool)
    if isinstance(result, Raised):
        if isinstance(result.error, ShutdownInterrupted) and context.shutting_down.is_set():
            context.logger.warning(
                "Processing stopped for the shutdown; the message is left to the broker "
                "to be delivered again")
            return Ending.INTERRUPTED
        await _report_failure(context, result.error)
    elif is_truthy(result):
        await context.deliver("data", result)
    await context.end_automatically()
    return Ending.FINISHED


async def _report_failure(context: ComponentContext, exc: BaseException) -> None:
    # sys.exit() in process included: it must not end the sailor with every message
    # in hand (SIGINT and SIGTERM are handled by the loop, so a KeyboardInterrupt here
    # is the component's). Logged without the error (its text may quote a body,
    # docs/protocol.md#secrets); the error itself is published, encrypted.
    context.logger.error("Error occurred during trigger or action processing")
    await context.deliver("error", exc)


def _cancelled_by_sailor() -> bool:
    """Whether the running task is being cancelled (by the sailor's shutdown), as
    opposed to a ``CancelledError`` that the component raised itself."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
