"""Attachments in task mode on the broker (docs/protocol.md#attachments): a component uploads
through ``self.attachments`` to the object-storage stand-in, and reads incoming ones."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
import requests

from tests.support.object_storage import ObjectStorageStandIn
from tests.support.platform_sim import COMPONENTS, FLOW_ID, STEP_ID, PlatformSim

pytestmark = pytest.mark.broker

COMPONENT = COMPONENTS / "attachments"
TOKEN = "maester-jwt-token-SECRET"


@pytest.fixture
def storage() -> Iterator[ObjectStorageStandIn]:
    with ObjectStorageStandIn(TOKEN) as stand_in:
        yield stand_in


def storage_env(storage: ObjectStorageStandIn) -> dict[str, str]:
    return {"ELASTICIO_OBJECT_STORAGE_URI": storage.url,
            "ELASTICIO_OBJECT_STORAGE_TOKEN": TOKEN, "LOG_LEVEL": "trace"}


def test_an_uploaded_attachment_is_emitted_and_downloadable_with_the_token(
        sim: PlatformSim, storage: ObjectStorageStandIn) -> None:
    sim.publish_input({"body": {"name": "speech.mp3", "text": "0123456789", "repeat": 1000}})
    run = sim.start_sailor("make_file", cwd=COMPONENT, **storage_env(storage))
    [data] = sim.wait_published(1)
    assert run.stop() == 0
    message = data.decoded()
    [(name, entry)] = message["attachments"].items()
    [object_id] = storage.objects
    assert name == "speech.mp3"
    assert entry == {"url": storage.object_url(object_id), "size": 10_000,
                     "content-type": "audio/mpeg"}
    [post] = storage.calls_to("POST")
    assert post.headers["x-request-id"] == f"f:{FLOW_ID};s:{STEP_ID};m:"
    assert post.headers["transfer-encoding"] == "chunked"  # streamed, not assembled first
    downloaded = requests.get(entry["url"], headers={"Authorization": f"Bearer {TOKEN}"},
                              timeout=10)
    assert downloaded.content == b"0123456789" * 1000
    assert downloaded.headers["Content-Type"] == "audio/mpeg"
    assert sim.input_depth() == 0
    assert sim.rejected_count() == 0
    assert TOKEN not in run.output()
    assert TOKEN not in sim.cipher.decode_frame(data.body, 1)


def test_incoming_attachments_are_read_from_the_storage_only(
        sim: PlatformSim, storage: ObjectStorageStandIn) -> None:
    content = b"upstream file"
    object_id = storage.put(content, "text/plain")
    sim.publish_input({"body": {}, "attachments": {
        "in.txt": {"url": storage.object_url(object_id), "size": len(content),
                   "content-type": "text/plain"},
        "local.txt": {"url": "file:///etc/hostname"},  # file:// only in exec
        "web.png": {"url": "https://files.example.com/web.png"},  # the component's to fetch
    }})
    run = sim.start_sailor("read_files", cwd=COMPONENT, **storage_env(storage))
    [data] = sim.wait_published(1)
    assert run.stop() == 0
    assert data.decoded()["body"] == {
        "read": {"in.txt": {"size": len(content), "contentType": "text/plain",
                            "sha256": hashlib.sha256(content).hexdigest()}},
        "notOurs": ["local.txt", "web.png"],
    }
    [get] = storage.calls
    assert (get.method, get.path) == ("GET", f"/maester/objects/{object_id}")
    assert get.headers["authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in run.output()
