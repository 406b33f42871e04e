"""platform_api.py: requests, auth, retry policy and error messages
(docs/protocol.md#platform-api)."""

from __future__ import annotations

import base64
import json

import pytest
import requests
import responses
from elasticio_sailor.platform_api import PlatformApi, PlatformApiError

BASE = "http://api.test"
STEP_URL = f"{BASE}/v1/tasks/flow1/steps/step_1"
STARTUP_URL = f"{BASE}/sailor-support/hooks/task/flow1/startup/data"
API_KEY = "api-key-MARKER"


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def api(sleeps):
    return PlatformApi(BASE + "//", "user@x", API_KEY, sleep=sleeps.append)


@responses.activate
def test_step_data_with_basic_auth_and_keep_alive(api):
    responses.get(STEP_URL, json={"config": {"a": 1}})
    assert api.get_step_data("flow1", "step_1") == {"config": {"a": 1}}
    request = responses.calls[0].request
    expected = base64.b64encode(f"user@x:{API_KEY}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert request.headers["Connection"] == "Keep-Alive"


@responses.activate
def test_three_500s_fail_after_three_attempts(api, sleeps):
    responses.get(STEP_URL, status=500, body="down")
    with pytest.raises(PlatformApiError) as caught:
        api.get_step_data("flow1", "step_1")
    assert caught.value.status_code == 500
    assert len(responses.calls) == 3
    assert sleeps == [1.0, 1.0]


@responses.activate
def test_two_500s_then_200_succeeds(api):
    responses.get(STEP_URL, status=502)
    responses.get(STEP_URL, status=503)
    responses.get(STEP_URL, json={"config": {}})
    assert api.get_step_data("flow1", "step_1") == {"config": {}}
    assert len(responses.calls) == 3


@responses.activate
def test_400_is_not_retried_and_carries_the_body(api):
    responses.get(STEP_URL, status=404, json={"message": "no such step"})
    with pytest.raises(PlatformApiError) as caught:
        api.get_step_data("flow1", "step_1")
    assert len(responses.calls) == 1
    assert caught.value.status_code == 404
    assert json.loads(str(caught.value)) == {"message": "no such step"}


@responses.activate
def test_empty_step_data_is_an_error(api):
    responses.get(STEP_URL, body="")
    with pytest.raises(PlatformApiError, match="empty"):
        api.get_step_data("flow1", "step_1")


@responses.activate
def test_network_error_message_has_no_api_key(api, sleeps):
    responses.get(STEP_URL, body=requests.ConnectionError(f"refused {API_KEY}"))
    with pytest.raises(PlatformApiError) as caught:
        api.get_step_data("flow1", "step_1")
    assert caught.value.status_code is None
    assert "MARKER" not in str(caught.value)
    assert len(responses.calls) == 3


@responses.activate
def test_update_account_keys(api):
    responses.put(f"{BASE}/v1/accounts/acc-42", status=200, json={})
    api.update_account_keys("acc-42", {"oauth": {"access_token": "t"}})
    assert json.loads(responses.calls[0].request.body) == {"keys": {"oauth": {"access_token": "t"}}}


@responses.activate
def test_startup_data_calls_use_their_own_policy_and_error_field(sleeps):
    api = PlatformApi(
        BASE,
        "u",
        API_KEY,
        startup_retry_attempts=2,
        startup_retry_delay_s=0.25,
        sleep=sleeps.append,
    )
    responses.post(STARTUP_URL, status=409, json={"error": "already exists"})
    with pytest.raises(PlatformApiError) as caught:
        api.post_startup_data("flow1", {"a": 1})
    assert (str(caught.value), caught.value.status_code) == ("already exists", 409)
    responses.get(STARTUP_URL, status=500)
    with pytest.raises(PlatformApiError):
        api.get_startup_data("flow1")
    assert sleeps == [0.25]
    responses.delete(STARTUP_URL, status=204)
    api.delete_startup_data("flow1")
