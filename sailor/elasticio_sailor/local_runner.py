"""``python -m elasticio_sailor exec``: one message through a component function, locally.

No broker, no platform: every event the function emits is printed as one JSON line
``{"event": ..., "payload": ...}`` on stdout, in order; logs go to stderr. The return
and raise rules are those of task mode (a returned message is ``data`` + ``end``,
a falsy value is ``end``, an exception is ``error`` + ``end``). Exit codes: 0 success,
1 an error was emitted (or the credentials were not verified), 2 bad usage, 3 the
function stopped for SIGTERM (``ShutdownInterrupted``; nothing more was printed).

Secrets stay out of files and shell history: a cfg string value ``"env:NAME"`` is
replaced by the value of the environment variable ``NAME``.

Attachments (``self.attachments``): with ``ELASTICIO_OBJECT_STORAGE_URI`` (and its token) set
and no ``--attachments-dir``, uploads go to that object storage; otherwise they are written
into the folder (a new temporary one by default; stderr says which) and emitted as
``file://`` URLs. ``file://`` URLs are readable here, and only here: files in the
attachments folder and in the folders named with ``--allow-files``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from .attachments import Attachments
from .component_loader import ComponentLoader, ComponentLoadError
from .context import ComponentContext, stop_on_sigterm
from .error_payload import normalize_error
from .errors import SailorException
from .invoke import Ending, Raised, outcome_of, run_process
from .jsvalues import stringify
from .local_attachments import LocalFolder
from .log import (
    configure_logging,
    get_logger,
    register_cfg_secrets,
    register_secret,
)
from .object_storage import ObjectStorage
from .service import verify_credentials

ENV_REFERENCE_PREFIX = "env:"
EXIT_OK, EXIT_ERROR_EMITTED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 3


class UsageError(SailorException):
    """Bad arguments or input files: reported on stderr, exit code 2."""


def main(args: argparse.Namespace) -> int:
    configure_logging(stream=sys.stderr)
    try:
        return asyncio.run(_run(args, sys.stdout))
    except (UsageError, ComponentLoadError) as exc:
        sys.stderr.write(f"exec: {exc}\n")
        return EXIT_USAGE


async def _run(args: argparse.Namespace, out: IO[str]) -> int:
    modes = [bool(args.select_model), bool(args.meta_model), bool(args.verify_credentials)]
    if sum(modes) > 1:
        raise UsageError("use only one of --select-model, --meta-model, --verify-credentials")
    if not args.verify_credentials and not args.function:
        raise UsageError("name the action or trigger to run")
    cfg = resolve_env_references(read_json_argument(args.cfg, "--cfg", default={}))
    register_cfg_secrets(cfg)  # as the platform's modes do: no log line shows them
    loader = ComponentLoader(Path(args.component))
    context = LocalContext(
        out, local_attachments(args.attachments_dir, os.environ, readable=args.allow_files))
    stop_on_sigterm(context.shutting_down, get_logger("sailor"))
    label = "verifyCredentials" if args.verify_credentials else args.function
    progress = asyncio.create_task(report_progress(label, context, args.progress_interval))
    try:
        if args.verify_credentials:
            result = await verify_credentials(loader, context, cfg)
            context.record("result", result)
            return EXIT_OK if result.get("verified") is not False else EXIT_ERROR_EMITTED
        if args.select_model or args.meta_model:
            name = args.select_model or "getMetaModel"
            return await _run_service_function(loader, context, args.function, name, cfg)
        msg = read_message(args.msg)
        snapshot = read_json_argument(args.snapshot, "--snapshot", default={}, inline=False)
        module = loader.load_module(args.function)
        process = getattr(module, "process", None)
        if await run_process(context, process, msg, cfg, snapshot) is Ending.INTERRUPTED:
            return EXIT_INTERRUPTED
        return EXIT_ERROR_EMITTED if context.error_count else EXIT_OK
    finally:
        progress.cancel()


async def _run_service_function(
    loader: ComponentLoader, context: LocalContext, name: str, function_name: str, cfg: Any
) -> int:
    function = getattr(loader.load_module(name), function_name, None)
    if not callable(function):
        raise UsageError(f'Method "{function_name}" is not found in "{name}" action or trigger')
    result = await outcome_of(function, context, cfg)
    if isinstance(result, Raised):  # reported like the service mode's error result
        context.record("error", result.error)
        return EXIT_ERROR_EMITTED
    context.record("result", result)
    return EXIT_OK


def local_attachments(folder: str | None, environ: Mapping[str, str], *,
                      readable: Sequence[str] = ()) -> Attachments:
    """``self.attachments`` of ``exec`` (see the module's docstring); ``readable``: the
    folders of ``--allow-files``."""
    storage = ObjectStorage(
        environ.get("ELASTICIO_OBJECT_STORAGE_URI"), environ.get("ELASTICIO_OBJECT_STORAGE_TOKEN"),
        flow_id=environ.get("ELASTICIO_FLOW_ID", ""), step_id=environ.get("ELASTICIO_STEP_ID", ""))
    writes = folder is not None or not storage.configured

    def announce(path: Path) -> None:
        why = "as asked" if folder is not None else "no ELASTICIO_OBJECT_STORAGE_URI"
        sys.stderr.write(f"exec: attachments are written to {path} ({why}) and emitted as "
                         f"file:// URLs; a later exec reads them with --allow-files {path}\n")
        sys.stderr.flush()

    local = LocalFolder(Path(folder) if folder is not None else None, writes=writes,
                        readable=[Path(path) for path in readable], announce=announce)
    return Attachments(storage, local=local)


class LocalContext(ComponentContext):
    """``self`` for a locally run function: ``emit`` prints the event."""

    def __init__(self, out: IO[str], attachments: Attachments | None = None) -> None:
        super().__init__(logger=get_logger("component"), attachments=attachments)
        self._out = out
        self.error_count = 0
        self.event_count = 0
        self.ended = False

    def _schedule(self, event: str, payload: Any) -> asyncio.Future[Any]:
        self.record(event, payload, from_component=True)
        done = self._loop.create_future()
        done.set_result(None)
        return done

    async def deliver(self, event: str, payload: Any = None) -> None:
        self.record(event, payload)

    def record(self, event: str, payload: Any = None, *, from_component: bool = False) -> None:
        """Print one event line (the first ``end`` only)."""
        if event == "end":
            if self.ended:
                if from_component:
                    get_logger("sailor").warn("processMessage emit end was called more than once")
                return
            self.ended = True
        if event == "error":
            self.error_count += 1
            payload = normalize_error(payload)  # as the platform receives it
        self.event_count += 1
        line = {"event": event} if payload is None else {"event": event, "payload": payload}
        self._out.write(stringify(line, default=_jsonable) + "\n")
        self._out.flush()

    async def wait_for_emits(self) -> None:
        """Events are printed when emitted; nothing is ever pending."""


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseException):
        return normalize_error(value)
    return str(value)


async def report_progress(label: str, context: LocalContext, interval_s: float) -> None:
    """A line on stderr every ``interval_s`` seconds while the function runs."""
    if interval_s <= 0:
        return
    started = time.monotonic()
    while True:
        await asyncio.sleep(interval_s)
        elapsed = time.monotonic() - started
        sys.stderr.write(
            f"exec: still waiting for {label} ({elapsed:.0f} s, "
            f"{context.event_count} events so far)\n"
        )
        sys.stderr.flush()


def read_json_argument(value: str | None, option: str, *, default: Any, inline: bool = True) -> Any:
    """JSON from a file, from stdin (``-``) or, when ``inline``, the argument itself."""
    if value is None:
        return default
    text = value if inline and value.lstrip().startswith(("{", "[")) else None
    if text is None:
        try:
            text = sys.stdin.read() if value == "-" else Path(value).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"{option}: cannot read {value}: {exc.strerror}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{option}: not valid JSON ({exc})") from None
    except RecursionError:  # Python's parser gives up around 1,000 levels
        raise UsageError(f"{option}: JSON nested too deep to read") from None


def read_message(value: str | None) -> dict[str, Any]:
    """The incoming message, completed like the platform's: ``id``, ``headers``,
    ``attachments`` default to a new id and empty objects."""
    msg = read_json_argument(value, "--msg", default={"body": {}}, inline=False)
    if not isinstance(msg, dict) or "body" not in msg:
        raise UsageError('--msg: expected a message object with a "body" field')
    msg.setdefault("id", str(uuid.uuid4()))
    msg.setdefault("headers", {})
    msg.setdefault("attachments", {})
    return msg


def resolve_env_references(cfg: Any, environ: Mapping[str, str] | None = None) -> Any:
    """Replace ``"env:NAME"`` string values with ``environ[NAME]`` (registered as secrets)."""
    env = os.environ if environ is None else environ
    if isinstance(cfg, dict):
        return {key: resolve_env_references(value, env) for key, value in cfg.items()}
    if isinstance(cfg, list):
        return [resolve_env_references(item, env) for item in cfg]
    if isinstance(cfg, str) and cfg.startswith(ENV_REFERENCE_PREFIX):
        name = cfg[len(ENV_REFERENCE_PREFIX) :]
        if name not in env:
            raise UsageError(f"--cfg refers to environment variable {name}, which is not set")
        register_secret(env[name])
        return env[name]
    return cfg
