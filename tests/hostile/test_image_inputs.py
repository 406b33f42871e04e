"""Hostile images of Edit Image and hostile answers of Generate Image, through `exec` in
the guarded world of ``tests/support/hostile_world.py``: nothing internal is reached (from
a message's URL or attachment, nor from a link the server answers with), the storage
token goes to the storage only, no secret shows in any event or log line, a refused
image sends nothing complete to the API, and a hostile answer stores nothing."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.support.hostile_world import (
    DENIED,
    HOSTILE_URLS,
    PNG,
    PUBLIC,
    STORAGE_TOKEN,
    World,
    assert_no_marker,
    error_of,
)
from tests.support.openai_replies import Reply

pytestmark = pytest.mark.timeout(120)


def edit(world: World, image: Any = None, *, attachments: dict[str, Any] | None = None,
         mask: str | None = None, options: tuple[str, ...] = (), **env: str
         ) -> tuple[list[dict[str, Any]], str]:
    body: dict[str, Any] = {"prompt": "Add a red hat"}
    if image is not None:
        body["image"] = image
    if mask is not None:
        body["mask"] = mask
    message: dict[str, Any] = {"body": body}
    if attachments is not None:
        message["attachments"] = attachments
    return world.exec(message, action="editImage", model="gpt-image-1", options=options,
                      **env)


def generate(world: World, **body: Any) -> tuple[list[dict[str, Any]], str]:
    return world.exec({"body": {"prompt": "A boat", **body}}, action="generateImage",
                      model="gpt-image-1")


def edits(world: World) -> list[Any]:
    return world.openai.images.forms


@pytest.mark.parametrize("template", HOSTILE_URLS)
def test_an_internal_image_url_is_refused_without_contacting_it(template: str, world: World
                                                                ) -> None:
    events, output = edit(world, world.signed_url(template))
    world.assert_refused_untouched(events, output, "image")
    assert edits(world) == []


def test_an_internal_url_among_several_images_or_as_the_mask_is_named(world: World) -> None:
    port = world.server.port
    public = f"http://public.test:{port}/file/photo.png"
    internal = world.signed_url(HOSTILE_URLS[0])
    for events, output, place in ((*edit(world, [public, internal]), "image[1]"),
                                  (*edit(world, public, mask=internal), "mask")):
        assert error_of(events)["message"] == f"{place}: {DENIED}"
        assert_no_marker(output)
    # the public image was opened before the internal one was refused; nothing else
    assert set(world.server.paths()) == {"/file/photo.png"}
    assert set(world.connects_to_server()) == {(PUBLIC, world.server.port)}
    assert edits(world) == []


def test_an_attachment_pointing_inside_the_network_is_refused_like_a_url(world: World) -> None:
    events, output = edit(world, attachments=world.internal_attachment())
    world.assert_refused_unread(events, output, f"image: {DENIED}")
    assert edits(world) == []


def test_a_public_image_is_streamed_without_the_storage_token(world: World) -> None:
    events, output = edit(world, "photo.png", attachments=world.public_attachment())
    assert [e["event"] for e in events] == ["data", "end"], output
    assert "Authorization" not in world.server.requests[0].headers
    assert_no_marker(output)
    [form] = edits(world)
    assert form.file("image").data == PNG


def test_the_storage_token_goes_to_the_storage_only(world: World) -> None:
    attachments, storage = world.storage_attachment()
    events, output = edit(world, attachments=attachments, ELASTICIO_OBJECT_STORAGE_URI=storage)
    assert [e["event"] for e in events] == ["data", "end"], output
    assert world.server.requests[0].headers["Authorization"] == f"Bearer {STORAGE_TOKEN}"
    assert_no_marker(output)


def test_a_file_url_in_the_body_is_refused_unread(world: World) -> None:
    """Only an attachment may be a local file (exec's own files): a body cannot make the
    step read the machine's files, even in a folder the user allowed."""
    secret = world.tmp_path / "secret.png"
    secret.write_bytes(PNG + b"SECRET-LINE")
    events, output = edit(world, secret.as_uri(),
                          options=("--allow-files", str(world.tmp_path)))
    assert error_of(events)["message"].startswith("image: ")
    assert "SECRET-LINE" not in output
    assert edits(world) == []


def test_in_exec_a_local_file_that_is_no_image_stops_the_request_unshown(world: World
                                                                         ) -> None:
    secret = world.tmp_path / "notes.txt"
    secret.write_text("root:x:0:0:SECRET-LINE")
    events, output = edit(world, attachments={"photo.png": {"url": secret.as_uri()}},
                          options=("--allow-files", str(world.tmp_path)))
    assert error_of(events)["message"] == (
        "image ('photo.png'): the file is not an image by its content; the model takes "
        "png, webp or jpg images")
    assert "SECRET-LINE" not in output
    assert edits(world) == []  # no complete request reached the API


def test_in_exec_a_local_file_outside_the_allowed_folders_is_refused_unread(world: World
                                                                         ) -> None:
    key = world.tmp_path / "id_ed25519.png"
    key.write_text("-----BEGIN OPENSSH PRIVATE KEY----- SECRET-LINE")
    events, output = edit(world, attachments={"photo.png": {"url": key.as_uri()}})
    assert error_of(events)["name"] == "LocalFileNotAllowedError"
    assert "SECRET-LINE" not in output
    assert edits(world) == []


@pytest.mark.parametrize("template", HOSTILE_URLS)
def test_a_link_the_server_answers_with_is_downloaded_under_the_policy(template: str,
                                                                     world: World) -> None:
    """The server's answer is not trusted to point where the step may read."""
    world.openai.script(Reply(json={"created": 1, "data": [
        {"url": world.signed_url(template)}]}))
    events, output = generate(world)
    world.assert_refused_untouched(events, output, "data[0].url")


def test_an_answer_with_an_endless_image_stores_nothing_and_shows_nothing(
        world: World) -> None:
    huge = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(49 * 2**20)).decode()
    world.openai.script(Reply(json={"created": 1, "data": [{"b64_json": huge}],
                                    "echo": STORAGE_TOKEN}))
    events, output = generate(world)
    message = error_of(events)["message"]
    assert "larger than 50331648 bytes decoded" in message
    assert len(output) < 20_000
    assert_no_marker(output)
