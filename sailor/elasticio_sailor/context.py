"""The object a component function receives as ``self``, in every mode
(docs/protocol.md#the-self-object).

``emit`` works from both kinds of function: on the event loop (``async def``) it
returns an awaitable; from a worker thread (sync ``def``) it blocks until the event has
been handled, so a sync component gets the same "publish confirmed" guarantee.
``shutting_down`` is set when the sailor starts to shut down: long work checks it
between chunks or polls and raises ``ShutdownInterrupted``. ``rebounds`` says how often
the message was rebounded and what the platform does with the next rebound.
"""

from __future__ import annotations

import asyncio
import copy
import signal
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .settings import DEFAULT_REBOUND_INITIAL_EXPIRATION_MS, DEFAULT_REBOUND_LIMIT

if TYPE_CHECKING:
    from .attachments import Attachments
    from .emitter import MessageEmitter


@dataclass(frozen=True)
class Rebounds:
    """How often the message in hand was rebounded, and the platform's rules for the next
    rebound (docs/protocol.md#rebound): ``self.rebounds``.

    ``done`` is the input's ``reboundIteration`` header (0 when it never was); a rebound
    emitted now is number ``done + 1``, waits :meth:`delay_ms` of it, and above ``limit``
    becomes the error ``Rebound limit exceeded``.
    """

    done: int = 0
    limit: int = DEFAULT_REBOUND_LIMIT
    first_delay_ms: int = DEFAULT_REBOUND_INITIAL_EXPIRATION_MS

    @staticmethod
    def done_of(headers: Mapping[str, Any] | None) -> int:
        """The ``reboundIteration`` header when it is a number (Node's rule), else 0."""
        previous = (headers or {}).get("reboundIteration")
        if isinstance(previous, int | float) and not isinstance(previous, bool):
            return int(previous)
        return 0

    @property
    def next(self) -> int:
        """The number of a rebound emitted now."""
        return self.done + 1

    def delay_ms(self, iteration: int) -> int:
        """How long rebound number ``iteration`` waits: the first delay, doubled each time."""
        return int(2 ** (iteration - 1) * self.first_delay_ms)


class ComponentContext:
    """What every ``self`` has; a mode says what an event does (``_schedule``) and how
    the ends of a ``process`` call are recorded (``deliver``, ``end_automatically``)."""

    def __init__(self, *, logger: Any, shutting_down: threading.Event | None = None,
                 attachments: Attachments | None = None,
                 rebounds: Rebounds | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop_thread_id = threading.get_ident()
        self.logger = logger
        self.shutting_down = shutting_down if shutting_down is not None else threading.Event()
        self.rebounds = rebounds if rebounds is not None else Rebounds()
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
        rebounds: Rebounds | None = None,
    ) -> None:
        super().__init__(logger=logger, shutting_down=shutting_down, attachments=attachments,
                         rebounds=rebounds)
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
