"""Calling a component's function the same way in every mode (process, hooks, service)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any


async def call_component(function: Callable[..., Any], *args: Any) -> Any:
    """Await an ``async def`` function; run a sync one in a worker thread, so the event
    loop (and with it the AMQP heartbeats) never waits for component code. There
    ``self.emit`` blocks until the event is handled."""
    if inspect.iscoroutinefunction(function):
        return await function(*args)
    result = await asyncio.to_thread(function, *args)
    if inspect.isawaitable(result):
        result = await result
    return result
