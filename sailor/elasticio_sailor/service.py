"""Service mode (docs/protocol.md#service-mode): verifyCredentials, getMetaModel, selectModel.

One shot: validate the environment, call the component, POST ``{status, data}`` to
``ELASTICIO_POST_RESULT_URL`` and exit 0 after a successful POST (also for an error
result), 1 otherwise. The cfg is never logged or printed
(docs/protocol.md#deviation-no-cfg-in-debug-output).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from .component_loader import ComponentLoader, ComponentLoadError, component_root
from .context import ComponentContext, stop_on_sigterm
from .error_payload import cap
from .errors import SailorException
from .invoke import Raised, outcome_of
from .jsvalues import stringify
from .log import (
    Logger,
    configure_logging,
    get_logger,
    install_stdlib_bridge,
    register_cfg_secrets,
)
from .retry import retry_call
from .settings import SERVICE_METHODS

RESULT_TIMEOUT_S = 30.0
# Node passes API_REQUEST_RETRY_ATTEMPTS to the result POST as is: unset means one attempt.
DEFAULT_RESULT_ATTEMPTS = 1
DEFAULT_RESULT_RETRY_DELAY_MS = 100
RESULT_HEADERS = {
    "Content-Type": "application/json",
    "Connection": "Keep-Alive",
    "Accept": "application/json, text/plain, */*",
}


class ServiceError(SailorException):
    """A failure that becomes an error result ``{"status": "error", "data": {message}}``."""


def main(
    method: str,
    environ: Mapping[str, str],
    cwd: str | Path | None = None,
    extra_args: Sequence[str] = (),
) -> int:
    """Run one service method; the exit code for the process."""
    configure_logging(environ=dict(environ))
    install_stdlib_bridge()
    log = get_logger("sailor")
    if extra_args:
        # Only their number: what an old start script passes is not known to be harmless.
        log.info("Arguments after the service method are not used", count=len(extra_args))
    result_url = environ.get("ELASTICIO_POST_RESULT_URL")
    if not result_url:
        log.fatal("ELASTICIO_POST_RESULT_URL is not provided")
        return 1
    root = component_root(cwd or Path.cwd(), environ.get("ELASTICIO_COMPONENT_PATH"))
    try:
        outcome = asyncio.run(_run_method(method, environ, root, log))
    except Exception as exc:  # noqa: BLE001 - every failure becomes the POSTed error result
        outcome = Raised(exc)
    if isinstance(outcome, Raised):  # the sailor's failure, or the function's (any class)
        log.info("Service method failed", method=method,
                 errorName=type(outcome.error).__name__)
        result: dict[str, Any] = {
            "status": "error", "data": {"message": error_message(outcome.error)}}
    else:
        result = {"status": "success", "data": outcome}
    return post_result(result_url, result, environ, log)


def error_message(error: BaseException) -> str:
    """The text of an error result or of a ``reason``; capped like a published error."""
    return cap(str(error) or type(error).__name__)


def parse_cfg(environ: Mapping[str, str], method: str) -> Any:
    """Validate the environment in the platform's order and return the parsed cfg."""
    if method not in SERVICE_METHODS:
        raise ServiceError(f'Unknown service method "{method}"')
    required = ["ELASTICIO_CFG", "ELASTICIO_API_URI", "ELASTICIO_API_USERNAME", "ELASTICIO_API_KEY"]
    if method != "verifyCredentials":
        required.append("ELASTICIO_ACTION_OR_TRIGGER")
    if method == "selectModel":
        required.append("ELASTICIO_GET_MODEL_METHOD")
    for name in required:
        if not environ.get(name):
            raise ServiceError(f"{name} is not provided")
    try:
        cfg = json.loads(environ["ELASTICIO_CFG"])
    except ValueError:
        raise ServiceError("Unable to parse CFG") from None
    register_cfg_secrets(cfg)
    return cfg


async def _run_method(method: str, environ: Mapping[str, str], root: Path, log: Logger) -> Any:
    """The method's result, or ``Raised`` with what the component's function raised."""
    cfg = parse_cfg(environ, method)
    loader = ComponentLoader(root)
    _ = loader.component_json  # read for every method, as Node does (error result if broken)
    context = ServiceContext(cfg, environ, log)
    stop_on_sigterm(context.shutting_down, log)
    if method == "verifyCredentials":
        return await verify_credentials(loader, context, cfg)
    name = environ["ELASTICIO_ACTION_OR_TRIGGER"]
    function_name = (
        "getMetaModel" if method == "getMetaModel" else environ["ELASTICIO_GET_MODEL_METHOD"]
    )
    module = loader.load_module(name)
    function = getattr(module, function_name, None)
    if not callable(function):
        raise ServiceError(f'Method "{function_name}" is not found in "{name}" action or trigger')
    log.debug("Calling service function", function=function_name, actionOrTrigger=name)
    try:
        return await outcome_of(function, context, cfg)
    finally:
        await context.wait_for_emits()


async def verify_credentials(loader: ComponentLoader, context: Any, cfg: Any) -> Any:
    """The verifyCredentials result body (docs/protocol.md#service-methods); ``context`` needs
    ``wait_for_emits``."""
    try:
        verify = loader.load_verifier()
    except ComponentLoadError as exc:
        # Deviation from Node (docs/protocol.md#deviation-broken-verifier): a verifier that fails to
        # import is an error result, never a silent {"verified": true}.
        raise ServiceError(str(exc)) from exc
    if verify is None:
        return {"verified": True}  # no verifier file: verified, as in Node
    try:
        outcome = await outcome_of(verify, context, cfg)
    finally:
        await context.wait_for_emits()
    if isinstance(outcome, Raised):  # whatever it raised means "not verified"
        return {"verified": False, "reason": error_message(outcome.error)}
    if isinstance(outcome, dict) and "verified" in outcome:
        return outcome
    if outcome is False:
        # Deviation from Node (docs/protocol.md#deviation-verifier-returning-false)
        return {"verified": False}
    return {"verified": True}


class ServiceContext(ComponentContext):
    """``self`` of a service function: ``emit`` (only ``updateKeys`` has an effect),
    ``logger``, ``get_config()`` (the raw environment, as in Node), ``get_flow_variables()``.
    """

    def __init__(self, cfg: Any, environ: Mapping[str, str], log: Logger) -> None:
        super().__init__(logger=get_logger("component"))
        self._cfg = cfg
        self._environ = environ
        self._log = log
        self._pending: list[asyncio.Future[Any]] = []

    def get_config(self) -> dict[str, str]:
        return dict(self._environ)

    def _schedule(self, event: str, payload: Any) -> asyncio.Future[Any]:
        task = self._loop.create_task(self._handle(event, payload))
        self._pending.append(task)
        return task

    async def wait_for_emits(self) -> None:
        """Every emitted event is handled before the result is POSTed
        (docs/protocol.md#service-methods)."""
        while self._pending:
            pending, self._pending = self._pending, []
            await asyncio.gather(*pending, return_exceptions=True)

    async def _handle(self, event: str, payload: Any) -> None:
        if event != "updateKeys":
            self._log.debug("Event is ignored in service mode", event=event)
            return
        await asyncio.to_thread(self._update_keys, payload)

    def _update_keys(self, keys: Any) -> None:
        from .platform_api import PlatformApi

        account_id = self._cfg.get("_account") if isinstance(self._cfg, dict) else None
        if not account_id:
            self._log.error("updateKeys: cfg has no _account, keys are not updated")
            return
        api = PlatformApi(
            self._environ.get("ELASTICIO_API_URI"),
            self._environ.get("ELASTICIO_API_USERNAME", ""),
            self._environ.get("ELASTICIO_API_KEY", ""),
        )
        try:
            api.update_account_keys(str(account_id), keys)
        except Exception as exc:  # noqa: BLE001 - Node only logs this failure too
            self._log.error("Failed to update account keys", err=exc)
        else:
            self._log.info("Account keys updated")


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """``http://u:p%40ss@host/path`` → (``http://host/path``, (``u``, ``p@ss``))."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, host = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    bare = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return bare, (unquote(user), unquote(password))


def post_result(
    url: str,
    result: dict[str, Any],
    environ: Mapping[str, str],
    log: Logger,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """POST the result; only HTTP 200 counts as delivered (docs/protocol.md#result-post). The exit
    code."""
    import requests

    from .settings import parse_int

    target, auth = split_credentials(url)
    attempts = parse_int(
        environ.get("ELASTICIO_API_REQUEST_RETRY_ATTEMPTS"), DEFAULT_RESULT_ATTEMPTS
    )
    delay_ms = parse_int(
        environ.get("ELASTICIO_API_REQUEST_RETRY_DELAY"), DEFAULT_RESULT_RETRY_DELAY_MS
    )
    body = stringify(result).encode()
    with requests.Session() as session:

        def post_once() -> tuple[int | None, str]:
            """The status (None: no answer) and what to log about it."""
            try:
                response = session.post(
                    target, data=body, headers=RESULT_HEADERS, auth=auth, timeout=RESULT_TIMEOUT_S
                )
            except requests.RequestException as exc:
                return None, type(exc).__name__
            return response.status_code, f"{response.status_code}, {response.text}"

        status, detail = retry_call(
            post_once, attempts=attempts, delay_s=delay_ms / 1000,
            retry_result=lambda outcome: outcome[0] is None or outcome[0] >= 500,
            sleep=sleep)
    if status != 200:
        log.fatal("Failed to POST data to %s (%s)", target, detail)
        return 1
    log.info("Result posted", status=result["status"])
    return 0
