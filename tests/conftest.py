"""Shared fixtures: the throwaway RabbitMQ node is started once, on first use."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.broker import Broker, start_broker
from tests.sailor.platform_sim import PlatformSim
from tests.sailor.recording_server import RecordingServer, start_recording_server

REPO_ROOT = Path(__file__).resolve().parent.parent

if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


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
