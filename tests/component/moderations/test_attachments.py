"""Moderate's images: attachment names and URLs turned into what the API can read."""

from __future__ import annotations

import pytest

from lib.attachments.downloads import DownloadPolicy
from lib.attachments.object_storage import ObjectStorage
from lib.errors import AttachmentError
from lib.moderations.attachments import (
    image_url_of,
    incoming_attachments,
    is_image,
    with_readable_images,
)
from lib.moderations.request import ImageSlot, build_moderation_request
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


@pytest.mark.parametrize(("name", "attachment", "expected"), [
    ("a.bin", {"content-type": "image/webp"}, True),
    ("a.png", {"content-type": "application/pdf"}, False),  # the declared type wins
    ("a.png", {}, True),
    ("a.jpeg", {"content-type": " "}, True),
    ("notes.txt", {}, False),
])
def test_which_attachments_are_images(name, attachment, expected) -> None:
    assert is_image(name, attachment) is expected


def test_an_image_named_by_its_attachment_is_downloaded_with_the_token_and_sent_inline():
    fetched = downloads()
    sent, inlined = with_readable_images(request(image("photo.png")), ATTACHMENTS, fetched)
    url = sent["input"][1]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    assert fetched.calls == [(PHOTO_URL, 20 * 1024 * 1024)]
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


@pytest.mark.parametrize(("slot", "attachments", "problem"), [
    (ImageSlot(1, None), {}, ("input[1].image_url.url names no image, and the message has no "
                             "image attachment: give a URL or the name of an attachment")),
    (ImageSlot(1, None), {**ATTACHMENTS, "b.jpg": {"url": "https://x/b.jpg"}},
     ("input[1].image_url.url names no image, and the message has 2 image attachments "
     "('photo.png', 'b.jpg'): give a URL or the name of an attachment")),
    (ImageSlot(2, "phot.png"), ATTACHMENTS,
     ("input[2].image_url.url: 'phot.png' is neither a URL nor the name of an attachment of "
     "the message (2 attachments ('photo.png', 'invoice.pdf'))")),
    (ImageSlot(1, "photo.png"), {"photo.png": {"size": 3}},
     "input[1].image_url.url: the attachment 'photo.png' has no url"),
])
def test_an_image_that_cannot_be_found_is_named_by_its_place(slot, attachments, problem):
    with pytest.raises(AttachmentError) as caught:
        image_url_of(slot, attachments)
    assert str(caught.value) == problem


def test_an_attachment_that_is_no_image_fails_by_its_place() -> None:
    files = {f"{STORAGE}/objects/2": (b"%PDF-1.4 not an image", "application/pdf")}
    with pytest.raises(AttachmentError, match=r"^input\[1\]\.image_url\.url: .* is not an image"):
        with_readable_images(request(image("invoice.pdf")), ATTACHMENTS, downloads(files))


def test_a_url_the_policy_refuses_fails_by_its_place_before_anything_is_sent() -> None:
    with pytest.raises(AttachmentError, match=r"^input\[1\]\.image_url\.url: unsupported URL "
                       r"scheme 'file'"):
        with_readable_images(request(image("file:///etc/passwd")), {}, downloads())
