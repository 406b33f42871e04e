"""Hostile image URLs and attachments of Moderate, through `exec` in the guarded world of
``tests/support/hostile_world.py``: nothing internal is reached, the storage token goes to
the storage only, no secret shows in any event or log line, and a refused image sends
nothing to the API."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import pytest

from tests.support.hostile_world import (
    DENIED,
    HOSTILE_URLS,
    PNG,
    STORAGE_TOKEN,
    World,
    assert_no_marker,
    error_of,
)

pytestmark = pytest.mark.timeout(120)

PLACE = "input[1].image_url.url"
MODERATIONS = "/v1/moderations"


def moderate(world: World, url: str | None = None, *,
             attachments: dict[str, Any] | None = None, options: Sequence[str] = (),
             **env: str) -> tuple[list[dict[str, Any]], str]:
    image: dict[str, Any] = {"type": "image_url", "image_url": {} if url is None else {"url": url}}
    message: dict[str, Any] = {"body": {"input": [{"type": "text", "text": "caption"}, image]}}
    if attachments is not None:
        message["attachments"] = attachments
    return world.exec(message, action="moderate", model="omni-moderation-latest",
                      options=options, **env)


def sent(world: World) -> list[dict[str, Any]]:
    return world.openai.json_routes.bodies.get(MODERATIONS, [])


@pytest.mark.parametrize("template", HOSTILE_URLS)
def test_an_internal_image_url_is_refused_without_contacting_it(template: str, world: World
                                                                ) -> None:
    events, output = moderate(world, world.signed_url(template))
    world.assert_refused_untouched(events, output, PLACE)
    assert sent(world) == []


def test_an_attachment_pointing_inside_the_network_is_refused_like_a_url(world: World) -> None:
    events, output = moderate(world, attachments=world.internal_attachment())
    world.assert_refused_unread(events, output, f"{PLACE}: {DENIED}")
    assert sent(world) == []


def test_a_public_attachment_is_downloaded_without_the_storage_token(world: World) -> None:
    events, output = moderate(world, "photo.png", attachments=world.public_attachment())
    assert [e["event"] for e in events] == ["data", "end"], output
    assert "Authorization" not in world.server.requests[0].headers
    assert_no_marker(output)
    [body] = sent(world)
    assert body["input"][1]["image_url"]["url"] == (
        "data:image/png;base64," + base64.b64encode(PNG).decode())


def test_the_storage_token_goes_to_the_storage_only(world: World) -> None:
    attachments, storage = world.storage_attachment()
    events, output = moderate(world, attachments=attachments,
                              ELASTICIO_OBJECT_STORAGE_URI=storage)
    assert [e["event"] for e in events] == ["data", "end"], output
    assert world.server.requests[0].headers["Authorization"] == f"Bearer {STORAGE_TOKEN}"
    assert_no_marker(output)


def test_another_scheme_is_refused_before_anything_is_read(world: World) -> None:
    events, output = moderate(world, attachments={"photo.png": {"url": "ftp://public.test/a"}})
    assert error_of(events)["message"].startswith(f"{PLACE}: unsupported URL scheme 'ftp'")
    assert world.connects_to_server() == []
    assert sent(world) == []
    assert_no_marker(output)


def test_in_exec_a_local_file_that_is_no_image_is_refused_and_not_shown(world: World) -> None:
    """exec reads file: attachments through the runtime (the local runner's files, in a
    folder the user allowed); what is not an image is refused, and nothing of it is shown
    or sent."""
    secret = world.tmp_path / "notes.txt"
    secret.write_text("root:x:0:0:SECRET-LINE")
    events, output = moderate(world, attachments={"photo.png": {"url": secret.as_uri()}},
                              options=("--allow-files", str(world.tmp_path)))
    assert error_of(events)["message"] == (
        f"{PLACE}: 'photo.png' is not an image (content type text/plain)")
    assert "SECRET-LINE" not in output
    assert sent(world) == []


def test_in_exec_a_local_file_outside_the_allowed_folders_is_refused_unread(world: World
                                                                         ) -> None:
    """A replayed message cannot make exec read a file the user did not allow (an SSH
    key, /etc/passwd) and send it to the API."""
    key = world.tmp_path / "id_ed25519.png"
    key.write_text("-----BEGIN OPENSSH PRIVATE KEY----- SECRET-LINE")
    events, output = moderate(world, attachments={"photo.png": {"url": key.as_uri()}})
    error = error_of(events)
    assert error["name"] == "LocalFileNotAllowedError"
    assert "--allow-files DIR" in error["message"]
    assert "SECRET-LINE" not in output
    assert sent(world) == []


def test_a_data_url_over_the_image_limit_is_refused_before_sending(world: World) -> None:
    big = "data:image/png;base64," + base64.b64encode(b"\x00" * (20 * 1024 * 1024 + 3)).decode()
    events, output = moderate(world, big)
    message = error_of(events)["message"]
    assert message.startswith(PLACE)
    assert "20" in message
    assert len(output) < 10_000  # the data is not echoed
    assert sent(world) == []
