"""The object a component function receives as ``self`` (docs/protocol.md#the-self-object).

``emit`` works from both kinds of ``process``: on the event loop (``async def``) it
returns an awaitable; from a worker thread (sync ``def``) it blocks until the event has
been handled, so a sync component gets the same "publish confirmed" guarantee.
"""

from __future__ import annotations

import asyncio
import copy
import threading
from typing import Any

from .emitter import MessageEmitter


class ExecutionContext:
    def __init__(
        self,
        emitter: MessageEmitter,
        *,
        loop: asyncio.AbstractEventLoop,
        loop_thread_id: int,
        logger: Any,
        flow_variables: dict[str, Any],
        config: Any,
        api_client: Any = None,
    ) -> None:
        self._emitter = emitter
        self._loop = loop
        self._loop_thread_id = loop_thread_id
        self.logger = logger
        self._flow_variables = flow_variables
        self._config = config
        self._api_client = api_client

    def emit(self, event: str, payload: Any = None) -> Any:
        """Emit ``event``: awaitable on the event loop, blocking in a worker thread."""
        if threading.get_ident() == self._loop_thread_id:
            return self._emitter.emit(event, payload)
        done = asyncio.run_coroutine_threadsafe(self._emit_and_wait(event, payload), self._loop)
        return done.result()

    async def _emit_and_wait(self, event: str, payload: Any) -> None:
        await self._emitter.emit(event, payload)

    def get_flow_variables(self) -> dict[str, Any]:
        return copy.deepcopy(self._flow_variables)

    def get_config(self) -> Any:
        """The parsed sailor settings (secrets included: do not log them)."""
        return self._config

    def get_api_client(self) -> Any:
        return self._api_client
