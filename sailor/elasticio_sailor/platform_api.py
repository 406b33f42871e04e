"""The platform's REST API as the sailor uses it (docs/protocol.md#platform-api). Synchronous, on
``requests``; task mode calls it through ``asyncio.to_thread``.

Two retry policies, as in Node: step data and account keys retry network errors and
HTTP >= 500 (``retry_attempts`` attempts in total, ``retry_delay_s`` apart; Node: 3, 1 s);
the startup-data calls use ``API_REQUEST_RETRY_ATTEMPTS``/``_DELAY``
(``startup_retry_attempts``/``startup_retry_delay_s``). Error messages never contain
the API key.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import requests

from .errors import SailorException
from .jsvalues import stringify
from .log import register_cfg_secrets
from .retry import retry_call

DEFAULT_BASE_URI = "https://api.elastic.io"
REQUEST_TIMEOUT_S = 15.0
DEFAULT_RETRY_ATTEMPTS = 3
DEFAULT_RETRY_DELAY_S = 1.0
DEFAULT_STARTUP_RETRY_ATTEMPTS = 3
DEFAULT_STARTUP_RETRY_DELAY_S = 0.1
JSON_HEADERS = {"Content-Type": "application/json"}
COMMON_HEADERS = {
    "Connection": "Keep-Alive",
    "Accept": "application/json, text/plain, */*",
}


class PlatformApiError(SailorException):
    """A failed platform call; ``status_code`` is ``None`` for network errors."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


class PlatformApi:
    """Client of ``{API_URI}/v1/...`` and ``/sailor-support/...`` with basic auth."""

    def __init__(
        self,
        base_uri: str | None,
        username: str,
        api_key: str,
        retry_attempts: int = DEFAULT_RETRY_ATTEMPTS,
        retry_delay_s: float = DEFAULT_RETRY_DELAY_S,
        *,
        startup_retry_attempts: int = DEFAULT_STARTUP_RETRY_ATTEMPTS,
        startup_retry_delay_s: float = DEFAULT_STARTUP_RETRY_DELAY_S,
        timeout_s: float = REQUEST_TIMEOUT_S,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_uri = (base_uri or DEFAULT_BASE_URI).rstrip("/")
        self._auth = (username, api_key)
        self._api_key = api_key
        self.retry_attempts = max(1, retry_attempts)
        self.retry_delay_s = retry_delay_s
        self.startup_retry_attempts = max(1, startup_retry_attempts)
        self.startup_retry_delay_s = startup_retry_delay_s
        self.timeout_s = timeout_s
        self._sleep = sleep
        self._local = threading.local()  # one Session per thread: Session is not thread-safe

    # -- calls -------------------------------------------------------------------------

    def get_step_data(self, flow_id: str, step_id: str) -> dict[str, Any]:
        """``GET /v1/tasks/{flow}/steps/{step}``; an empty or non-object body is an error."""
        response = self._call("GET", f"/v1/tasks/{flow_id}/steps/{step_id}", None, startup=False)
        data = _json_or_none(response)
        if not isinstance(data, dict):
            raise PlatformApiError(
                f"Step data of step {step_id} is empty or not a JSON object",
                response.status_code,
            )
        register_cfg_secrets(data.get("config"))  # at every read: no log line may show them
        return data

    def update_account_keys(self, account_id: str, keys: Any) -> None:
        """``PUT /v1/accounts/{account}`` with ``{"keys": keys}``."""
        register_cfg_secrets(keys)  # refreshed tokens are as secret as the cfg's
        self._call("PUT", f"/v1/accounts/{account_id}", {"keys": keys}, startup=False)

    def post_startup_data(self, flow_id: str, data: Any) -> None:
        """Store the ``startup`` hook's result; a 409 raises with ``status_code == 409``."""
        self._call("POST", _startup_path(flow_id), data, startup=True)

    def get_startup_data(self, flow_id: str) -> Any:
        response = self._call("GET", _startup_path(flow_id), None, startup=True)
        return _json_or_none(response)

    def delete_startup_data(self, flow_id: str) -> None:
        self._call("DELETE", _startup_path(flow_id), None, startup=True)

    # -- transport ---------------------------------------------------------------------

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.auth = self._auth
            session.headers.update(COMMON_HEADERS)
            self._local.session = session
        return session

    def _call(self, method: str, path: str, body: Any, *, startup: bool) -> requests.Response:
        attempts = self.startup_retry_attempts if startup else self.retry_attempts
        delay_s = self.startup_retry_delay_s if startup else self.retry_delay_s
        url = self.base_uri + path
        # JSON as JSON.stringify writes it (NaN as null), not requests' own (which raises)
        data = None if body is None else stringify(body).encode("utf-8")
        headers = None if body is None else JSON_HEADERS

        def attempt() -> requests.Response:
            try:
                response = self._session().request(
                    method, url, data=data, headers=headers, timeout=self.timeout_s)
            except requests.RequestException as exc:
                raise PlatformApiError(
                    self._clean(f"{method} {path} failed: {type(exc).__name__}: {exc}")
                ) from None
            if response.status_code >= 400:
                raise PlatformApiError(
                    self._clean(_error_message(response, startup=startup)),
                    response.status_code,
                )
            return response

        return retry_call(attempt, attempts=attempts, delay_s=delay_s,
                          retryable=_worth_retrying, sleep=self._sleep)

    def _clean(self, message: str) -> str:
        return message.replace(self._api_key, "***") if self._api_key else message


def _worth_retrying(error: Exception) -> bool:
    """A network error or an HTTP >= 500 answer."""
    return isinstance(error, PlatformApiError) and (
        error.status_code is None or error.status_code >= 500)


def _startup_path(flow_id: str) -> str:
    return f"/sailor-support/hooks/task/{flow_id}/startup/data"


def _json_or_none(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _error_message(response: requests.Response, *, startup: bool) -> str:
    """Node: step data / accounts → the body (JSON text if an object); startup data → the
    body's ``error`` field."""
    data = _json_or_none(response)
    if startup and isinstance(data, dict) and data.get("error") is not None:
        return str(data["error"])
    if data is not None:
        return data if isinstance(data, str) else stringify(data)
    return response.text or f"HTTP {response.status_code}"
