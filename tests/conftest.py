"""Shared fixtures: the throwaway RabbitMQ node is started once, on first use."""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Any

import pytest

from lib.actions import create_response
from lib.openai import async_client as async_client_module
from lib.openai import wire as wire_module
from lib.openai.client import clear_clients
from lib.openai.retry import RetryPolicy
from lib.responses.jobs import JobBook
from tests.support.broker import Broker, BrokerUnavailableError, ensure_installed, start_broker
from tests.support.platform_sim import PlatformSim
from tests.support.recording_server import RecordingServer, start_recording_server

REPO_ROOT = Path(__file__).resolve().parent.parent

if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


@pytest.hookimpl(tryfirst=True)  # before -m selects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that uses the broker (directly or through a fixture) is marked `broker`."""
    for item in items:
        if "broker" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.broker)


def pytest_collection_finish(session: pytest.Session) -> None:
    """RabbitMQ is installed, or asked for, only when a selected test needs it."""
    if not any(item.get_closest_marker("broker") for item in session.items):
        return
    try:
        if ensure_installed():
            reporter = session.config.pluginmanager.get_plugin("terminalreporter")
            if reporter is not None:
                reporter.write_line("installed Debian's rabbitmq-server for the broker tests")
    except BrokerUnavailableError as exc:
        pytest.exit(str(exc), returncode=1)


@pytest.fixture(scope="session")
def broker() -> Broker:
    """A real RabbitMQ node on 127.0.0.1; a failure to start fails the test, never skips it."""
    node = start_broker()
    yield node
    node.stop()


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture
def sim(broker: Broker) -> PlatformSim:
    """One step's world (exchange, queues, platform API) on the shared broker."""
    platform = PlatformSim(broker.url)
    yield platform
    platform.close()


@pytest.fixture
def platform() -> RecordingServer:
    """A local HTTP server that plays the platform API and records every request."""
    state, server = start_recording_server()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def fresh_clients(monkeypatch: pytest.MonkeyPatch) -> Any:
    """No cached clients before or after; retries without sleeping; the async client's
    transport on `requests` (tests/support/requests_transport.py), so that `responses`
    fakes OpenAI for the async actions too."""
    from tests.support.requests_transport import RequestsTransport

    policy = functools.partial(RetryPolicy, sleep=lambda _s: None, random=lambda: 0.0)
    monkeypatch.setattr(wire_module, "RetryPolicy", policy)  # both clients' settings
    monkeypatch.setattr(async_client_module, "new_transport", RequestsTransport)
    clear_clients()
    yield
    clear_clients()


@pytest.fixture
def fresh_jobs(monkeypatch: pytest.MonkeyPatch) -> JobBook:
    """Create Response's background jobs kept in a book of the test's own."""
    book = JobBook()
    monkeypatch.setattr(create_response, "JOBS", book)
    return book


@pytest.fixture
def openai_standin(fresh_clients: Any) -> Any:
    """The OpenAI stand-in on 127.0.0.1, every request checked against the official
    document; no violation may be left at the end."""
    from tests.support.openai_standin import OpenAIStandIn
    from tests.support.openapi_contract import validate

    with OpenAIStandIn(validator=validate) as standin:
        yield standin
        assert standin.violations == []


@pytest.fixture
def object_storage(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The platform's object storage stand-in, named in the environment as the sailor
    names it (so the download policy sends it its token)."""
    from tests.support.action_support import STORAGE_TOKEN
    from tests.support.object_storage import ObjectStorageStandIn

    with ObjectStorageStandIn(STORAGE_TOKEN) as storage:
        monkeypatch.setenv("ELASTICIO_OBJECT_STORAGE_URI", storage.url)
        monkeypatch.setenv("ELASTICIO_OBJECT_STORAGE_TOKEN", STORAGE_TOKEN)
        yield storage
