"""The object a component function receives as ``self``, in every mode
(docs/protocol.md#the-self-object).

``emit`` works from both kinds of function: on the event loop (``async def``) it
returns an awaitable; from a worker thread (sync ``def``) it blocks until the event has
been handled, so a sync component gets the same "publish confirmed" guarantee.
``shutting_down`` is set when the sailor starts to shut down: long work checks it
between chunks or polls and raises ``ShutdownInterrupted``.
"""

from __future__ import annotations

import asyncio
import copy
import signal
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .attachments import Attachments
    from .emitter import MessageEmitter


class ComponentContext:
    """What every ``self`` has; a mode says what an event does (``_schedule``) and how
    the ends of a ``process`` call are recorded (``deliver``, ``end_automatically``)."""

    def __init__(self, *, logger: Any, shutting_down: threading.Event | None = None,
                 attachments: Attachments | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop_thread_id = threading.get_ident()
        self.logger = logger
        self.shutting_down = shutting_down if shutting_down is not None else threading.Event()
        if attachments is None:
            from .attachments import Attachments

            attachments = Attachments()  # no storage: an upload says so
        self.attachments = attachments

    def emit(self, event: str, payload: Any = None) -> Any:
        """Emit ``event``: awaitable on the event loop, blocking in a worker thread."""
        if threading.get_ident() == self._loop_thread_id:
            return self._schedule(event, payload)
        done = asyncio.run_coroutine_threadsafe(self._emit_and_wait(event, payload), self._loop)
        return done.result()

    async def _emit_and_wait(self, event: str, payload: Any) -> None:
        await self._schedule(event, payload)

    def _schedule(self, event: str, payload: Any) -> asyncio.Future[Any]:
        """Start handling ``event`` on the event loop; the future resolves when it is done."""
        raise NotImplementedError

    async def deliver(self, event: str, payload: Any = None) -> None:
        """Handle an event the sailor derives from the call (``data`` of a returned
        message, ``error`` of a raised one), after every event emitted before it."""
        await self._schedule(event, payload)

    async def end_automatically(self) -> None:
        """The ``end`` that returning or raising implies, unless the component emitted one."""
        await self.deliver("end")

    def get_flow_variables(self) -> dict[str, Any]:
        return {}

    def get_config(self) -> Any:
        return {}

    def get_api_client(self) -> Any:
        return None


class ExecutionContext(ComponentContext):
    """``self`` of ``process`` in task mode: events go to the message's emitter."""

    def __init__(
        self,
        emitter: MessageEmitter,
        *,
        logger: Any,
        flow_variables: dict[str, Any],
        config: Any,
        api_client: Any = None,
        attachments: Attachments | None = None,
        shutting_down: threading.Event | None = None,
    ) -> None:
        super().__init__(logger=logger, shutting_down=shutting_down, attachments=attachments)
        self._emitter = emitter
        self._flow_variables = flow_variables
        self._config = config
        self._api_client = api_client

    def _schedule(self, event: str, payload: Any) -> asyncio.Future[Any]:
        return self._emitter.emit(event, payload)

    async def deliver(self, event: str, payload: Any = None) -> None:
        await self._emitter.run(event, payload)

    async def end_automatically(self) -> None:
        """A component that already emitted ``end`` itself and then returns is normal in
        Python, so this ``end`` is skipped rather than logged as a second one (only a
        second explicit ``end`` warns)."""
        await self._emitter.drain()
        if not self._emitter.ended:
            await self._emitter.handle("end")

    def get_flow_variables(self) -> dict[str, Any]:
        return copy.deepcopy(self._flow_variables)

    def get_config(self) -> Any:
        """The parsed sailor settings (secrets included: do not log them)."""
        return self._config

    def get_api_client(self) -> Any:
        return self._api_client


def stop_on_sigterm(shutting_down: threading.Event, log: Any) -> None:
    """For the one-shot modes: the first SIGTERM sets ``shutting_down`` (the function may
    stop cleanly), a second one ends the process as usual."""
    loop = asyncio.get_running_loop()

    def on_sigterm() -> None:
        log.info("Received SIGTERM")
        shutting_down.set()
        loop.remove_signal_handler(signal.SIGTERM)

    loop.add_signal_handler(signal.SIGTERM, on_sigterm)
