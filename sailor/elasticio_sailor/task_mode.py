"""Task-mode lifecycle: start-up, hooks, consuming, graceful shutdown
(docs/protocol.md#start-up, docs/protocol.md#shutdown).

``main(environ)`` is what ``python -m elasticio_sailor run`` calls; it returns the exit
code: 0 after a graceful shutdown, 1 for a start-up failure or when the input queue can
no longer be consumed, 255 when disconnecting fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import copy
import functools
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from .errors import describe
from .invoke import call_component
from .jsvalues import is_empty
from .log import configure_logging, get_logger, install_stdlib_bridge
from .settings import SettingsError, TaskSettings, load_task_settings

if TYPE_CHECKING:
    from .component_loader import ComponentLoader

EXIT_OK = 0
EXIT_STARTUP_FAILED = 1
EXIT_DISCONNECT_FAILED = 255
EXIT_CONSUMER_LOST = 1  # the platform restarts the pod (docs/protocol.md#deviation-consumer-cancel)
SHUTDOWN_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def event_loop_factory(env: Mapping[str, str]) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop when the optional ``uvloop`` package is installed, else asyncio's.

    Profiled on a no-op component, the asyncio loop itself (selector, transports,
    callbacks) was ~45 % of the event loop thread's time, and that thread is what bounds
    the throughput; with uvloop the same sailor does ~1.2x the messages per second at
    ~0.8x the CPU. ``SAILOR_EVENT_LOOP=asyncio`` forces the standard loop.
    """
    if env.get("SAILOR_EVENT_LOOP", "").strip().lower() == "asyncio":
        return None
    try:
        import uvloop  # optional dependency
    except ImportError:
        return None
    return uvloop.new_event_loop


def main(environ: Mapping[str, str] | None = None) -> int:
    env = dict(os.environ if environ is None else environ)
    configure_logging(environ=env)
    install_stdlib_bridge()  # aiormq/urllib3 warnings as redacted JSON lines
    log = get_logger("sailor")
    try:
        settings = load_task_settings(env)
    except SettingsError as exc:
        log.fatal(str(exc))
        return EXIT_STARTUP_FAILED
    if settings.hook_shutdown:
        return run_shutdown_hook(settings, log)
    try:
        sailor = TaskSailor(settings, log)
        with asyncio.Runner(loop_factory=event_loop_factory(env)) as runner:
            code = runner.run(sailor.run())
            if sailor.work_abandoned:
                # The threads of abandoned sync process calls would keep the interpreter
                # (and the pod) alive; the connection is closed, nothing is left to do.
                sys.stdout.flush()
                os._exit(code)
            return code
    except Exception as exc:  # noqa: BLE001 - last resort: never a traceback with secrets
        log.fatal("Uncaught exception", error=describe(exc))
        return EXIT_STARTUP_FAILED


def platform_api_for(settings: TaskSettings) -> Any:
    from .platform_api import PlatformApi

    return PlatformApi(
        settings.api_uri,
        settings.api_username,
        settings.api_key,
        startup_retry_attempts=settings.api_request_retry_attempts,
        startup_retry_delay_s=settings.api_request_retry_delay_ms / 1000,
    )


class TaskSailor:
    def __init__(self, settings: TaskSettings, log: Any) -> None:
        self._settings = settings
        self._log = log
        self._stop = asyncio.Event()
        self._signal_name: str | None = None
        self._exit_code = EXIT_OK
        self.shutting_down = threading.Event()  # ``self.shutting_down`` of process calls
        self.work_abandoned = False

    def _on_signal(self, signum: int) -> None:
        name = signal.Signals(signum).name
        self._log.info("Received %s", name)
        if self._signal_name is None:
            self._signal_name = name
        self.shutting_down.set()
        self._stop.set()

    def _on_consumer_lost(self) -> None:
        """Consuming again failed for good: shut down gracefully, exit non-zero."""
        self._exit_code = EXIT_CONSUMER_LOST
        self._stop.set()

    async def run(self) -> int:
        from .amqp import AmqpClient, AmqpError
        from .crypto import MessageCipher
        from .publisher import Publisher

        loop = asyncio.get_running_loop()
        for signum in SHUTDOWN_SIGNALS:
            loop.add_signal_handler(signum, self._on_signal, signum)

        settings, log = self._settings, self._log
        # The API client (and with it ``requests``) is imported here, not while the
        # component's imports run in their thread: one importer of a package at a time.
        api = platform_api_for(settings)
        loading = start_loading(settings)
        cipher = MessageCipher(settings.broker.message_crypto_password,
                               settings.broker.message_crypto_iv)
        amqp = AmqpClient(settings, log)
        try:
            await amqp.connect()
        except AmqpError as exc:
            drop(loading)
            log.fatal(str(exc))
            await _close_quietly(amqp)
            return EXIT_STARTUP_FAILED
        publisher = Publisher(settings, cipher, amqp)
        try:
            executor = await self._start(amqp, cipher, publisher, api=api, loading=loading)
        except BaseException as exc:  # noqa: BLE001 - every start-up failure is reported,
            # whatever a hook raised (GeneratorExit, CancelledError...); nothing else
            # cancels this task (the signals are handled by the loop)
            drop(loading)
            await self._report_startup_failure(exc, publisher)
            await _close_quietly(amqp)
            return EXIT_STARTUP_FAILED

        await self._stop.wait()
        self.shutting_down.set()
        await amqp.stop_consuming()
        # Deviation from Node (docs/protocol.md#deviation-shutdown-grace): a bounded wait
        grace_s = settings.shutdown_grace_s
        if not await executor.wait_idle(grace_s):
            left = await executor.abandon()
            self.work_abandoned = True
            log.warning("Messages still in flight after the shutdown grace period are left "
                        "to the broker", inFlight=left, graceSeconds=grace_s)
        executor.shutdown()
        log.info("Disconnecting...")
        try:
            await amqp.close()
        except Exception as exc:  # noqa: BLE001
            log.error("Failed to disconnect", error=describe(exc))  # noqa: TRY400
            return EXIT_DISCONNECT_FAILED
        log.info("Successfully disconnected")
        return self._exit_code

    async def _report_startup_failure(self, exc: BaseException, publisher: Any) -> None:
        try:
            await publisher.publish_init_error(exc)
        except Exception as publish_exc:  # noqa: BLE001
            self._log.error("Failed to publish the init error report",
                            error=describe(publish_exc))
        self._log.fatal("Start-up failed", error=describe(exc))

    async def _start(self, amqp: Any, cipher: Any, publisher: Any, *, api: Any,
                     loading: asyncio.Future[ModuleType]) -> Any:
        """docs/protocol.md#start-up, steps 3-6: step data, component, hooks, consume.

        The component's module has been loading since the start (``start_loading``); its
        outcome counts here, after the step data and ``component.json``, as if it were
        loaded here."""
        from .attachments import Attachments
        from .emitter import StepState
        from .executor import MessageExecutor
        from .lightweight import BodyStore
        from .object_storage import ObjectStorage

        settings, log = self._settings, self._log
        step = await asyncio.to_thread(api.get_step_data, settings.flow_id, settings.step_id)
        loader = component_loader_for(settings)
        loader.component_json  # noqa: B018 - read once at start-up; raises when unusable
        config = step.get("config") or {}
        module = await loading
        definition = loader.definition(settings.function)

        if settings.startup_required:
            await self._run_startup_hook(module, config, api)
        init = getattr(module, "init", None)
        if callable(init):
            await call_component(init, copy.deepcopy(config))
        else:
            log.warning("invokeModuleFunction - init is not found")

        storage = ObjectStorage(settings.object_storage_uri, settings.object_storage_token,
                                flow_id=settings.flow_id, step_id=settings.step_id)
        state = StepState(
            config=config,
            snapshot=step.get("snapshot") or {},
            is_passthrough=step.get("is_passthrough") is True,
            flow_variables=step.get("variables") or {},
            platform_api=api,
            bodies=BodyStore(storage, cipher,
                             max_body_bytes=settings.object_storage_body_size_limit),
            attachments=Attachments(storage),
            # Node: defaults to true, then tests the definition's value for truthiness.
            auto_resolve_references=bool(definition.get("autoResolveObjectReferences", True)),
        )
        executor = MessageExecutor(
            settings=settings,
            cipher=cipher,
            amqp=amqp,
            publisher=publisher,
            state=state,
            process=getattr(module, "process", None),
            log=log,
            component_log=get_logger("component"),
            shutting_down=self.shutting_down,
        )
        await amqp.consume(settings.broker.listen_messages_on, executor.on_delivery,
                           on_lost=self._on_consumer_lost)
        log.info("Fully initialized and waiting for messages")
        return executor

    async def _run_startup_hook(self, module: Any, config: dict[str, Any], api: Any) -> None:
        from .platform_api import PlatformApiError

        settings, log = self._settings, self._log
        startup = getattr(module, "startup", None)
        if callable(startup):
            result = await call_component(startup, copy.deepcopy(config))
            state = {} if is_empty(result) else result
        else:
            log.warning("invokeModuleFunction - startup is not found")
            state = {}
        try:
            await asyncio.to_thread(api.post_startup_data, settings.flow_id, state)
        except PlatformApiError as exc:
            if exc.status_code != 409:
                raise
            log.warning("Startup data already exists; deleting it and storing it again")
            await asyncio.to_thread(api.delete_startup_data, settings.flow_id)
            # Deviation from Node (docs/protocol.md#deviation-startup-conflict): the retry stores
            # the normalised state, not the raw result.
            await asyncio.to_thread(api.post_startup_data, settings.flow_id, state)


def component_loader_for(settings: TaskSettings) -> ComponentLoader:
    from .component_loader import ComponentLoader, component_root

    return ComponentLoader(component_root(Path.cwd(), settings.component_path))


def start_loading(settings: TaskSettings) -> asyncio.Future[ModuleType]:
    """The component's module, loaded in a worker thread from now on.

    Its imports are CPU work (~0.1 s for an action on the OpenAI client); the AMQP connect
    and the step data before it are mostly waits on the network, so the load fills those
    waits instead of following them. The start-up awaits the future where it used to
    load the module, so what the load raises is reported as before, or ``drop``-ped.
    The thread has a loader of its own: nothing is shared with the start-up's checks.
    """

    def load() -> ModuleType:
        return component_loader_for(settings).load_module(settings.function)

    loop = asyncio.get_running_loop()
    return loop.run_in_executor(None, functools.partial(contextvars.copy_context().run, load))


def drop(loading: asyncio.Future[Any]) -> None:
    """The start-up failed before it needed the component's module: whatever loading it
    gives is not reported, nor logged as an exception that nobody retrieved."""
    if not loading.done():
        loading.cancel()  # the import itself runs on; the exit waits for its thread
    elif not loading.cancelled():
        loading.exception()


async def _close_quietly(amqp: Any) -> None:
    with contextlib.suppress(Exception):  # already failing; the exit code says it
        await amqp.close()


def run_shutdown_hook(settings: TaskSettings, log: Any) -> int:
    """docs/protocol.md#shutdown-hook-mode: no AMQP; step data, ``shutdown(cfg, startup_data)``,
    delete startup data."""
    # The hook is expected to finish; the platform kills the pod after a grace period.
    for signum in SHUTDOWN_SIGNALS:
        signal.signal(signum, lambda s, _f: log.info("Received %s", signal.Signals(s).name))
    try:
        api = platform_api_for(settings)
        step = api.get_step_data(settings.flow_id, settings.step_id)
        loader = component_loader_for(settings)
        loader.component_json  # noqa: B018
        module = loader.load_module(settings.function)
        startup_data = api.get_startup_data(settings.flow_id)
        shutdown = getattr(module, "shutdown", None)
        if callable(shutdown):
            cfg = copy.deepcopy(step.get("config") or {})
            asyncio.run(call_component(shutdown, cfg, startup_data))
        else:
            log.warning("invokeModuleFunction - shutdown is not found")
        api.delete_startup_data(settings.flow_id)
    except Exception as exc:  # noqa: BLE001
        log.fatal("Shutdown hook failed", error=describe(exc))
        return EXIT_STARTUP_FAILED
    return EXIT_OK
