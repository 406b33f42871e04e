"""Generate Image and Edit Image on our sailor, in task mode on RabbitMQ, against the
OpenAI stand-in and the platform's object storage stand-in: the images leave as new
objects of the storage, downloadable with its token, of the right size and type; an
edit's image comes in as one, read with the token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.flows import STORAGE_TOKEN, FileFlow, file_flow
from tests.support.image_files import image_bytes, png_bytes

pytestmark = [pytest.mark.broker, pytest.mark.timeout(120)]


@pytest.fixture
def flow(broker: Any, repo_root: Path) -> Iterator[FileFlow]:
    with file_flow(broker, repo_root) as running:
        yield running


def downloaded(url: str) -> requests.Response:
    assert requests.get(url, timeout=10).status_code == 401  # the token is needed
    return requests.get(url, headers={"Authorization": f"Bearer {STORAGE_TOKEN}"},
                        timeout=10)


def test_generated_images_leave_as_attachments_of_the_storage(flow: FileFlow) -> None:
    prompt = "A lighthouse at dusk, watercolour"
    message = {"body": {"prompt": prompt, "n": 2, "size": "1536x1024"}}
    output = flow.run("generateImage", message, model="gpt-image-1")
    images = [image_bytes("png", (1536, 1024), f"{prompt}#{i}") for i in range(2)]
    assert [(name, entry["size"], entry["content-type"])
            for name, entry in output["attachments"].items()] == [
        ("image-1.png", len(images[0]), "image/png"),
        ("image-2.png", len(images[1]), "image/png")]
    for entry, image in zip(output["attachments"].values(), images, strict=True):
        answer = downloaded(entry["url"])
        assert answer.content == image
        assert answer.headers["Content-Type"] == "image/png"
    assert [item["attachment"]["name"] for item in output["body"]["data"]] == [
        "image-1.png", "image-2.png"]
    assert output["body"]["usage"]["total_tokens"] > 0
    assert "b64_json" not in str(output)


def test_an_image_attachment_is_edited_into_a_new_one(flow: FileFlow) -> None:
    cat = png_bytes(32, 32, b"\x90\x60\x30")
    object_id = flow.storage.put(cat, "image/png")
    message = {"body": {"prompt": "Add a red hat", "output_format": "webp"},
               "attachments": {"cat.png": {"url": flow.storage.object_url(object_id),
                                           "size": len(cat), "content-type": "image/png"}}}
    output = flow.run("editImage", message, model="gpt-image-1")
    [form] = flow.openai.images.forms
    assert form.file("image").data == cat
    [read] = flow.storage.calls_to("GET")
    assert read.headers["authorization"] == f"Bearer {STORAGE_TOKEN}"
    [(name, entry)] = output["attachments"].items()
    edited = image_bytes("webp", (1024, 1024), "Add a red hat#0")
    assert (name, entry["size"], entry["content-type"]) == ("image-1.webp", len(edited),
                                                           "image/webp")
    assert downloaded(entry["url"]).content == edited
