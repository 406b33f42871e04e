"""Attachments: which URLs are downloaded, how they are inlined, limits, redaction."""

from __future__ import annotations

import base64

import pytest

from lib.attachments.downloads import MAX_FILE_BYTES, MAX_IMAGE_BYTES, DownloadPolicy
from lib.attachments.inline import content_type_of, filename_for, sniff_content_type
from lib.attachments.object_storage import ObjectStorage, object_storage_from
from lib.chat.attachments import inline_attachments
from lib.errors import AttachmentError, AttachmentTooLargeError
from tests.support.fake_downloads import FakeDownloads

PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 32
PDF = b"%PDF-1.4\n" + b"\x02" * 32


def user(*parts: dict) -> list[dict]:
    return [{"role": "user", "content": list(parts)}]


@pytest.mark.parametrize(("url", "expected"), [
    ("data:image/png;base64,iVBORw0KGgo=", False),
    ("https://upload.wikimedia.org/a.png", False),
    ("https://cdn.example.com/a.png?sig=1", False),
    ("http://example.com/a.png", True),  # plain http: fetch it ourselves
    ("https://localhost/a.png", True),
    ("https://127.0.0.1/a.png", True),
    ("https://10.1.2.3/a.png", True),
    ("https://192.168.0.9:8443/a.png", True),
    ("https://[fd00::1]/a.png", True),
    ("https://fileserver/a.png", True),  # single label
    ("https://steward-service.platform.svc.cluster.local/files/1", True),
    ("https://nas.local/a.png", True),
    ("https://wiki.corp/a.png", True),
    ("https://8.8.8.8/a.png", False),
])
def test_which_images_are_downloaded(url: str, expected: bool) -> None:
    if url.startswith("data:"):
        return  # sent as they are, see test_data_urls_count_against_the_limits
    assert DownloadPolicy().passes_by_reference(url) is not expected


def test_the_storage_and_allowed_hosts_are_always_downloaded() -> None:
    url = "https://storage.example.io/objects/1"
    assert DownloadPolicy().passes_by_reference(url) is True
    storage = DownloadPolicy(storage=ObjectStorage("https://storage.example.io/objects"))
    assert storage.passes_by_reference(url) is False
    allowed = DownloadPolicy(allowed_hosts=frozenset({"storage.example.io"}))
    assert allowed.passes_by_reference(url) is False


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://host/a.png", "/relative.png"])
def test_other_schemes_are_refused(url: str) -> None:
    for part in ({"type": "image_url", "image_url": {"url": url}},
                 {"type": "file", "file": {"file_url": url}}):
        with pytest.raises(AttachmentError, match=r"^messages\[0\]\.content\[0\]\..*: "
                                                  "unsupported URL scheme"):
            inline_attachments(user(part), FakeDownloads({}))


def test_images_and_files_are_inlined_others_untouched() -> None:
    fetch = FakeDownloads({
        "http://intranet/cat": (PNG, None),
        "https://docs.example.com/files/Q3%20report.pdf": (PDF, "application/pdf"),
    })
    messages = [
        {"role": "system", "content": "Be brief."},
        *user(
            {"type": "text", "text": "Look"},
            {"type": "image_url", "image_url": {"url": "http://intranet/cat", "detail": "high"}},
            {"type": "image_url", "image_url": {"url": "https://example.com/dog.png"}},
            {"type": "file", "file": {"file_url": "https://docs.example.com/files/Q3%20report.pdf"}},
            {"type": "file", "file": {"file_id": "file-1"}},
        ),
    ]
    original = repr(messages)
    result, inlined = inline_attachments(messages, fetch)
    assert repr(messages) == original  # the input is not changed
    parts = result[1]["content"]
    assert parts[1]["image_url"] == {
        "url": "data:image/png;base64," + base64.b64encode(PNG).decode(), "detail": "high"}
    assert parts[2]["image_url"]["url"] == "https://example.com/dog.png"
    assert parts[3]["file"] == {
        "file_data": "data:application/pdf;base64," + base64.b64encode(PDF).decode(),
        "filename": "Q3 report.pdf",
    }
    assert parts[4] == {"type": "file", "file": {"file_id": "file-1"}}
    assert [(i.kind, i.path, i.size) for i in inlined] == [
        ("image", "messages[1].content[1].image_url.url", len(PNG)),
        ("file", "messages[1].content[3].file.file_url", len(PDF)),
    ]


def test_a_given_filename_is_kept_and_data_urls_move_to_file_data() -> None:
    fetch = FakeDownloads({"http://intranet/x": (PDF, None)})
    result, _ = inline_attachments(user(
        {"type": "file", "file": {"file_url": "http://intranet/x", "filename": "contract.pdf"}},
        {"type": "file", "file": {"file_url": "data:application/pdf;base64,JVBERi0=",
                                  "filename": "b.pdf"}},
        {"type": "file", "file": {"file_data": "JVBERi0=", "filename": "c.pdf"}},
    ), fetch)
    first, second, third = (p["file"] for p in result[0]["content"])
    assert first["filename"] == "contract.pdf"
    assert first["file_data"].startswith("data:application/pdf;base64,")
    assert second == {"file_data": "data:application/pdf;base64,JVBERi0=", "filename": "b.pdf"}
    assert third["file_data"] == "data:application/pdf;base64,JVBERi0="  # bare base64 wrapped
    assert len(fetch.calls) == 1


def test_a_download_that_is_not_an_image_is_refused() -> None:
    fetch = FakeDownloads({"http://intranet/page": (b"<html></html>", "text/html; charset=utf-8")})
    with pytest.raises(AttachmentError,
                       match=r"messages\[0\]\.content\[0\]\.image_url\.url: .*not an image"):
        inline_attachments(user({"type": "image_url", "image_url": {
            "url": "http://intranet/page"}}), fetch)


def test_limits_per_kind_and_per_request() -> None:
    files = {"http://a/1.png": (PNG, "image/png"), "http://a/2.pdf": (PDF, None)}
    fetch = FakeDownloads(files)
    inline_attachments(user({"type": "image_url", "image_url": {"url": "http://a/1.png"}},
                            {"type": "file", "file": {"file_url": "http://a/2.pdf"}}), fetch)
    assert [limit for _url, limit in fetch.calls] == [MAX_IMAGE_BYTES, MAX_FILE_BYTES]

    small = FakeDownloads(files, max_total_bytes=len(PNG) + 10)
    with pytest.raises(AttachmentTooLargeError,
                       match=r"content\[1\].*larger than the limit of .* all"):
        inline_attachments(user({"type": "image_url", "image_url": {"url": "http://a/1.png"}},
                                {"type": "file", "file": {"file_url": "http://a/2.pdf"}}), small)


def test_data_urls_count_against_the_limits() -> None:
    encoded = base64.b64encode(PDF).decode()
    parts = [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64," + encoded}},
        {"type": "file", "file": {"file_data": "data:application/pdf;base64," + encoded}},
        {"type": "file", "file": {"file_url": "data:application/pdf;base64," + encoded}},
        {"type": "file", "file": {"file_data": encoded, "filename": "x.pdf"}},
    ]
    counted = FakeDownloads({})
    inline_attachments(user(*parts), counted)
    assert counted.total == 4 * len(PDF)
    assert counted.calls == []
    for index in range(4):
        tight = FakeDownloads({}, max_total_bytes=index * len(PDF) + len(PDF) - 1)
        with pytest.raises(AttachmentTooLargeError, match=rf"^messages\[0\]\.content\[{index}\]"):
            inline_attachments(user(*parts), tight)


def test_a_fetch_that_returns_too_much_is_refused() -> None:
    fetch = FakeDownloads({"http://a/2.pdf?token=SECRET": (PDF, None)}, max_total_bytes=8)
    with pytest.raises(AttachmentTooLargeError) as caught:
        inline_attachments(user({"type": "file", "file": {
            "file_url": "http://a/2.pdf?token=SECRET"}}), fetch)
    assert "larger than the limit" in str(caught.value)
    assert "SECRET" not in str(caught.value)


def test_the_content_type_comes_from_header_bytes_then_file_name() -> None:
    assert sniff_content_type(PDF) == "application/pdf"
    assert sniff_content_type(b"\xff\xd8\xff\xe0") == "image/jpeg"
    assert sniff_content_type(b"GIF89a....") == "image/gif"
    assert sniff_content_type(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert sniff_content_type(b"hello") is None
    assert content_type_of(PNG, "image/png; q=1", None) == "image/png"
    assert content_type_of(PDF, "application/octet-stream", None) == "application/pdf"
    assert content_type_of(b"a,b", None, "table.csv") == "text/csv"
    assert content_type_of(b"???", None, None) == "application/octet-stream"


def test_a_file_name_comes_from_the_url_or_is_made_up() -> None:
    assert filename_for("https://h/a/invoice.pdf?x=1", "application/pdf", 1) == "invoice.pdf"
    assert filename_for("https://h/objects/123", "application/pdf", 2) == "attachment-2.pdf"


def test_object_storage_token_only_for_its_own_urls() -> None:
    storage = object_storage_from({
        "ELASTICIO_OBJECT_STORAGE_URI": "http://maester:3002",
        "ELASTICIO_OBJECT_STORAGE_TOKEN": "tok",
    })
    assert storage.contains("http://maester:3002/objects/1")
    assert storage.headers_for("http://maester:3002/objects/1") == {"Authorization": "Bearer tok"}
    assert storage.headers_for("http://maester:3003/objects/1") is None
    assert storage.headers_for("http://evil.example.com/objects/1") is None
    assert "tok" not in repr(storage)
    assert ObjectStorage().headers_for("http://maester:3002/objects/1") is None
    assert not object_storage_from({}).contains("http://maester:3002/objects/1")
