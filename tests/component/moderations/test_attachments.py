"""Moderate's images: attachment names and URLs turned into what the API can read."""

from __future__ import annotations

from pathlib import Path

import pytest
from elasticio_sailor.attachments import Attachments
from elasticio_sailor.local_attachments import LocalFolder

from lib.attachments.downloads import MAX_IMAGE_BYTES, DownloadPolicy
from lib.attachments.object_storage import ObjectStorage
from lib.errors import AttachmentError
from lib.moderations.attachments import incoming_attachments, is_image, with_readable_images
from lib.moderations.request import build_moderation_request
from tests.support.fake_downloads import FakeDownloads

PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 32
STORAGE = "http://maester.platform.svc:3002"
PHOTO_URL = f"{STORAGE}/objects/photo-1?storage_type=maester"
ATTACHMENTS = {
    "photo.png": {"url": PHOTO_URL, "size": len(PNG), "content-type": "image/png"},
    "invoice.pdf": {"url": f"{STORAGE}/objects/2", "size": 9, "content-type": "application/pdf"},
}


def downloads(files: dict | None = None) -> FakeDownloads:
    policy = DownloadPolicy(storage=ObjectStorage(STORAGE, "storage-token"))
    return FakeDownloads(files or {PHOTO_URL: (PNG, "image/png")}, policy)


def request(*parts: dict) -> dict:
    return build_moderation_request({"input": [{"type": "text", "text": "caption"}, *parts]},
                                    "omni-moderation-latest")


def image(url: str | None = None) -> dict:
    return {"type": "image_url", "image_url": {} if url is None else {"url": url}}


def test_the_attachments_of_a_message_are_read_by_name() -> None:
    assert incoming_attachments({"attachments": ATTACHMENTS}) == ATTACHMENTS
    assert incoming_attachments({"body": {}}) == {}
    assert incoming_attachments({"attachments": ["not", "a", "map"]}) == {}


@pytest.mark.parametrize(("name", "media_type", "expected"), [
    ("a.bin", "image/webp", True),
    ("a.png", "application/pdf", False),  # the declared type wins
    ("a.png", None, True),
    ("notes.txt", None, False),
])
def test_which_files_are_images(name, media_type, expected) -> None:
    assert is_image(name, media_type) is expected


def test_an_image_named_by_its_attachment_is_downloaded_with_the_token_and_sent_inline():
    fetched = downloads()
    sent, inlined = with_readable_images(request(image("photo.png")), ATTACHMENTS, fetched)
    url = sent["input"][1]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    assert fetched.calls == [(PHOTO_URL, MAX_IMAGE_BYTES)]
    assert [(item.path, item.size) for item in inlined] == [("input[1].image_url.url", len(PNG))]


def test_an_image_part_that_names_nothing_takes_the_only_image_attachment() -> None:
    sent, _ = with_readable_images(request(image()), ATTACHMENTS, downloads())
    assert sent["input"][1]["image_url"]["url"].startswith("data:image/png;base64,")


def test_a_public_https_image_is_passed_on_and_nothing_is_downloaded() -> None:
    fetched = downloads()
    url = "https://upload.wikimedia.org/a.png"
    sent, inlined = with_readable_images(request(image(url)), ATTACHMENTS, fetched)
    assert sent["input"][1]["image_url"]["url"] == url
    assert fetched.calls == []
    assert inlined == []


def test_a_text_only_request_is_left_as_it_is() -> None:
    plain = build_moderation_request({"input": ["a", "b"]}, "m")
    assert with_readable_images(plain, ATTACHMENTS, downloads()) == (plain, [])


@pytest.mark.parametrize(("part", "attachments", "problem"), [
    (image(), {}, ("input[1].image_url.url: give an attachment's name or a URL: the message "
                   "has no image among its attachments (it has none)")),
    (image(), {**ATTACHMENTS, "b.jpg": {"url": "https://x/b.jpg"}},
     ("input[1].image_url.url: the message has 2 attachments that are images ('photo.png', "
     "'b.jpg'): name the one to use")),
    (image("phot.png"), ATTACHMENTS,
     ("input[1].image_url.url: the message has no attachment named 'phot.png' (attachments: "
     "'photo.png', 'invoice.pdf'); give an attachment's name or a URL")),
    (image("photo.png"), {"photo.png": {"size": 3}},
     "input[1].image_url.url: the attachment 'photo.png' has no url"),
    (image("invoice.pdf"), ATTACHMENTS,
     ("input[1].image_url.url: 'invoice.pdf' (application/pdf) is not an image the API takes; "
     "it takes images (png, jpeg, webp, gif)")),
])
def test_an_image_that_cannot_be_found_is_named_by_its_place(part, attachments, problem):
    with pytest.raises(AttachmentError) as caught:
        with_readable_images(request(part), attachments, downloads())
    assert str(caught.value) == problem


def test_a_url_that_is_no_image_fails_by_its_place() -> None:
    url = "http://files.internal/doc"
    files = {url: (b"%PDF-1.4 not an image", "application/pdf")}
    fetched = FakeDownloads(files, DownloadPolicy(allowed_hosts=frozenset({"files.internal"})))
    with pytest.raises(AttachmentError, match=r"^input\[1\]\.image_url\.url: .* is not an image"):
        with_readable_images(request(image(url)), {}, fetched)


def test_a_url_the_policy_refuses_fails_by_its_place_before_anything_is_sent() -> None:
    with pytest.raises(AttachmentError, match=r"^input\[1\]\.image_url\.url: a file: URL is "
                       r"read only as one of the message's attachments"):
        with_readable_images(request(image("file:///etc/passwd")), {}, downloads())
    with pytest.raises(AttachmentError, match=r"^input\[1\]\.image_url\.url: unsupported URL "
                       r"scheme 'ftp'"):
        with_readable_images(request(image("ftp://files.example.com/a.png")), {},
                             downloads())


def test_in_exec_a_local_attachment_is_read_through_the_runtime(tmp_path: Path) -> None:
    (tmp_path / "photo.png").write_bytes(PNG)
    attachments = {"photo.png": {"url": (tmp_path / "photo.png").as_uri(),
                                 "size": len(PNG), "content-type": "image/png"}}
    local = Attachments(local=LocalFolder(tmp_path, writes=True))
    fetched = downloads()
    sent, inlined = with_readable_images(request(image()), attachments, fetched, local=local)
    assert sent["input"][1]["image_url"]["url"].startswith("data:image/png;base64,")
    assert fetched.calls == []
    assert [item.size for item in inlined] == [len(PNG)]
    with pytest.raises(AttachmentError, match=r"unsupported URL scheme 'file'"):
        with_readable_images(request(image()), attachments, downloads(), local=Attachments())
