"""Hostile attachment URLs of Send Request, through `exec` and through the sailor in task
mode, in the guarded world of ``tests/support/hostile_world.py``: the attachment server
misbehaves on purpose (redirects to internal addresses, drips bytes); planted markers (API
key, storage token, signed-URL query) must not appear in any event, payload field or log
line.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.support.hostile_world import (
    API_KEY,
    DENIED,
    HOSTILE_URLS,
    PDF,
    PUBLIC,
    SIGNATURE,
    STORAGE_TOKEN,
    World,
    assert_no_marker,
    error_of,
)
from tests.support.netguard import recorded_connects
from tests.support.platform_sim import PlatformSim

MAX_PEAK_FACTOR = 8  # README, Security: peak memory per attachment byte


def file_message(url: str) -> dict[str, Any]:
    return {"body": {"messages": [{"role": "user", "content": [
        {"type": "text", "text": "Summarize"},
        {"type": "file", "file": {"file_url": url}},
    ]}]}}


@pytest.mark.parametrize("template", HOSTILE_URLS)
def test_exec_refuses_internal_urls_without_contacting_them(template: str, world: World
                                                            ) -> None:
    events, output = world.exec(file_message(world.signed_url(template)))
    world.assert_refused_untouched(events, output, "messages[0].content[1].file.file_url")
    # the model got nothing
    assert world.openai.chat_requests() == []


def test_exec_downloads_a_public_url_and_keeps_its_query_out_of_the_log(world: World
                                                                       ) -> None:
    server = world.server
    url = f"http://public.test:{server.port}/file/a.pdf?X-Amz-Signature={SIGNATURE}"
    events, output = world.exec(file_message(url))
    assert [e["event"] for e in events] == ["data", "end"], output
    assert_no_marker(output)
    [request] = world.openai.chat_requests()
    sent = request.body["messages"][0]["content"][1]["file"]
    assert sent["file_data"] == "data:application/pdf;base64," + base64.b64encode(PDF).decode()
    assert "Authorization" not in server.requests[0].headers
    assert world.connects_to_server() == [(PUBLIC, server.port)]


def test_exec_download_failures_name_place_and_url_without_internals(world: World) -> None:
    server = world.server
    url = f"http://public.test:{server.port}/status/403?X-Amz-Signature={SIGNATURE}"
    events, output = world.exec(file_message(url))
    error = error_of(events)
    assert error["message"] == (
        f"messages[0].content[1].file.file_url: could not download "
        f"http://public.test:{server.port}/status/403: the server answered HTTP 403 Forbidden")
    assert_no_marker(output)
    for internal in ("HTTPConnectionPool", "Max retries", "urllib3"):
        assert internal not in output


def test_exec_ends_a_dripping_download_at_the_deadline(world: World) -> None:
    url = f"http://public.test:{world.server.port}/drip/100000?X-Amz-Signature={SIGNATURE}"
    events, output = world.exec(file_message(url), ATTACHMENT_DOWNLOAD_DEADLINE_S="1.5")
    error = error_of(events)
    assert error["message"].endswith("the downloads of this message took longer than 1.5 s")
    assert_no_marker(output)
    assert world.openai.chat_requests() == []


def test_exec_with_url_downloads_off_uses_the_storage_only(world: World) -> None:
    server = world.server
    public = f"http://public.test:{server.port}/file/a.pdf"
    events, output = world.exec(file_message(public), ATTACHMENT_URL_DOWNLOADS="off")
    assert error_of(events)["message"].endswith(DENIED)
    assert server.requests == []
    assert_no_marker(output)


# ---- the sailor in task mode on the real broker ----------------------------------------


pytestmark = pytest.mark.timeout(120)


@pytest.mark.broker
def test_task_mode_publishes_generic_errors_and_no_secret(broker: Any, world: World) -> None:
    server, openai = world.server, world.openai
    config = {"apiKey": API_KEY, "baseUrl": openai.url, "model": "gpt-4o-mini"}
    sim = PlatformSim(broker.url, step_data={"config": config, "snapshot": {}})
    try:
        denied = file_message(
            f"http://public.test:{server.port}/redirect?to=http://169.254.169.254/latest"
            f"&X-Amz-Signature={SIGNATURE}")
        dripping = file_message(
            f"http://public.test:{server.port}/drip/100000?X-Amz-Signature={SIGNATURE}")
        allowed = file_message(
            f"http://public.test:{server.port}/file/a.pdf?X-Amz-Signature={SIGNATURE}")
        for message in (denied, dripping, allowed):
            sim.publish_input(message)
        env = world.env(ATTACHMENT_DOWNLOAD_DEADLINE_S="1.5")
        env.pop("OPENAI_API_KEY")
        run = sim.start_sailor("sendRequest", cwd=world.repo_root, **env)
        sim.wait_published(3, timeout=60)
        assert run.stop() == 0
        errors = sorted(e.envelope()["error"]["message"] for e in sim.published_to("error"))
        dripped = (f"messages[0].content[1].file.file_url: could not download "
                   f"http://public.test:{server.port}/drip/100000: the downloads of this "
                   "message took longer than 1.5 s")
        assert errors == [dripped, f"messages[0].content[1].file.file_url: {DENIED}"]
        [data] = sim.published_to("data")
        assert data.decoded()["body"]["object"] == "chat.completion"
        # errorInput is the incoming message itself, handed back as the platform expects
        error_fields = [e.envelope()["error"] for e in sim.published_to("error")]
        assert_no_marker(run.output())
        assert_no_marker(json.dumps(error_fields))
        assert_no_marker(json.dumps(data.decoded()))
        assert "169.254.169.254" not in {c[0] for c in recorded_connects(world.record)}
        assert len(openai.chat_requests()) == 1
    finally:
        sim.close()


def test_exec_refuses_an_internal_image_url(world: World) -> None:
    url = f"http://internal.test:{world.server.port}/file/secret.pdf?sig={SIGNATURE}"
    message = {"body": {"messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": url}}]}]}}
    events, output = world.exec(message)
    assert error_of(events)["message"] == f"messages[0].content[0].image_url.url: {DENIED}"
    assert world.server.requests == []
    assert world.connects_to_server() == []
    assert_no_marker(output)


def test_exec_sends_the_storage_token_to_the_storage_only(world: World) -> None:
    server = world.server
    storage = f"{server.base}/file"
    url = f"{storage}/a.pdf?storage_type=maester&X-Amz-Signature={SIGNATURE}"
    events, output = world.exec(file_message(url), ELASTICIO_OBJECT_STORAGE_URI=storage)
    assert [e["event"] for e in events] == ["data", "end"], output
    assert server.requests[0].headers["Authorization"] == f"Bearer {STORAGE_TOKEN}"
    assert_no_marker(output)


def test_exec_a_failing_storage_is_not_the_users_fault_and_keeps_its_token(world: World
                                                                          ) -> None:
    server = world.server
    storage = f"{server.base}/status"
    events, output = world.exec(file_message(f"{storage}/500?X-Amz-Signature={SIGNATURE}"),
                                ELASTICIO_OBJECT_STORAGE_URI=storage)
    error = error_of(events)
    assert error["name"] == "ObjectStorageDownloadError"
    assert error["message"] == (f"messages[0].content[1].file.file_url: could not download "
                                f"{storage}/500: the server answered HTTP 500 Internal "
                                "Server Error")
    assert len(server.requests) == 3  # transient: tried three times
    assert_no_marker(output)


def test_exec_memory_for_the_largest_attachment_stays_bounded(world: World) -> None:
    """A 32 MiB file (the largest allowed) held as bytes, base64 and request JSON."""
    size = 32 * 1024 * 1024
    world.server.files["big.pdf"] = b"%PDF-1.7\n" + b"x" * (size - 9)
    peak_file = world.tmp_path / "peak"
    url = f"http://public.test:{world.server.port}/file/big.pdf"
    events, output = world.exec(file_message(url), PEAK_RSS_FILE=str(peak_file))
    assert [e["event"] for e in events] == ["data", "end"], output[-2000:]
    peak = int(peak_file.read_text())
    print(f"peak RSS for a {size // 2**20} MiB attachment: {peak / 2**20:.0f} MiB "
          f"({peak / size:.1f}x the attachment)")
    assert peak < MAX_PEAK_FACTOR * size

