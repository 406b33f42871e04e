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
from typing import TYPE_CHECKING, Any

from .errors import SailorError, ShutdownInterrupted
from .jsvalues import is_truthy

if TYPE_CHECKING:
    from .context import ComponentContext


async def call_component(
    function: Callable[..., Any], *args: Any, pool: Executor | None = None,
) -> Any:
    """Await an ``async def`` function; run a sync one in a worker thread of ``pool``
    (default: the event loop's), so the event loop (and with it the AMQP heartbeats)
    never waits for component code. There ``self.emit`` blocks until the event is handled."""
    if inspect.iscoroutinefunction(function):
        return await function(*args)
    call = functools.partial(contextvars.copy_context().run, function, *args)
    result = await asyncio.get_running_loop().run_in_executor(pool, call)
    if inspect.isawaitable(result):
        result = await result
    return result


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
    try:
        result = await call_component(process, context, msg, cfg, snapshot, pool=pool)
    except ShutdownInterrupted as exc:
        if context.shutting_down.is_set():
            context.logger.warning(
                "Processing stopped for the shutdown; the message is left to the broker "
                "to be delivered again")
            return Ending.INTERRUPTED
        await _report_failure(context, exc)
    except BaseException as exc:
        if _cancelled_by_sailor():
            raise
        await _report_failure(context, exc)
    else:
        if is_truthy(result):
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
