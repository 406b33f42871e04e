"""Hostile file inputs of Transcribe Audio and Upload File, through `exec`, in the guarded
world of ``tests/support/hostile_world.py``: the files are streamed to the API, so a URL
the policy refuses must never be contacted, a scheme other than http(s) never read, a
file of the machine never sent, and a file name never become part of the form."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.hostile_world import HOSTILE_URLS, PDF, World, assert_no_marker, error_of


def audio_message(url: str) -> dict[str, Any]:
    return {"body": {}, "attachments": {"call.mp3": {"url": url, "content-type": "audio/mpeg"}}}


@pytest.mark.parametrize("template", HOSTILE_URLS[::2])
def test_an_internal_audio_attachment_is_refused_untouched(template: str, world: World
                                                           ) -> None:
    events, output = world.exec(audio_message(world.signed_url(template)),
                                action="transcribeAudio", model="whisper-1")
    world.assert_refused_untouched(events, output, "file")
    assert world.openai.requests == []


@pytest.mark.parametrize("url", [
    "file:///etc/passwd",  # exec reads its own attachments' file: URLs, never the body's
    "ftp://public.test/a.pdf",
    "gopher://127.0.0.1:25/",
])
def test_other_schemes_in_a_file_input_are_refused(url: str, world: World) -> None:
    events, output = world.exec({"body": {"file": url, "purpose": "user_data"}},
                                action="uploadFile", model=None)
    error = error_of(events)
    assert error["message"].startswith("file: ")
    assert error["name"] in ("AttachmentError", "FileInputError")
    assert "root:" not in output
    assert world.openai.requests == []
    assert world.connects_to_server() == []


def test_a_public_file_is_streamed_and_its_query_stays_out_of_the_log(world: World) -> None:
    url = f"http://public.test:{world.server.port}/file/a.pdf"
    events, output = world.exec(
        {"body": {"file": world.signed_url(url), "purpose": "user_data"}},
        action="uploadFile", model=None)
    assert [e["event"] for e in events] == ["data", "end"], output
    assert_no_marker(output)
    [stored] = world.openai.files.files.values()
    assert (stored.filename, stored.data) == ("a.pdf", PDF)
    assert "Authorization" not in world.server.requests[0].headers


def test_a_file_name_cannot_add_form_fields_or_headers(world: World) -> None:
    name = 'x"; name="purpose"\r\nX-Injected: 1\r\n\r\nfine-tune'
    events, output = world.exec(
        {"body": {"file": f"http://public.test:{world.server.port}/file/a.pdf",
                  "purpose": "user_data", "filename": name}}, action="uploadFile", model=None)
    assert [e["event"] for e in events] == ["data", "end"], output
    [stored] = world.openai.files.files.values()
    assert stored.purpose == "user_data"  # the name stayed a name
    assert stored.content_type == "application/pdf"
    assert stored.filename == 'x"; name="purpose"X-Injected: 1fine-tune'
