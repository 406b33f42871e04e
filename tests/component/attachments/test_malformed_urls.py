"""Malformed attachment URLs are the user's error."""

from __future__ import annotations

import pytest

from lib.attachments.downloads import DownloadPolicy, Downloads
from lib.chat.attachments import inline_attachments
from lib.errors import AttachmentError


class NoDownloads(Downloads):
    def __init__(self) -> None:
        super().__init__(DownloadPolicy())

    def _get(self, url: str, max_bytes: int) -> tuple[bytes, str | None]:
        raise AssertionError("nothing should be downloaded")


@pytest.mark.parametrize("part", [
    {"type": "image_url", "image_url": {"url": "http://example.com:99999/a.png"}},
    {"type": "image_url", "image_url": {"url": "http://[::1/a.png"}},
    {"type": "file", "file": {"file_url": "http://[::1/a.pdf"}},
    {"type": "file", "file": {"file_url": "https://example.com:70000/a.pdf"}},
])
def test_a_malformed_url_is_an_attachment_error_naming_the_place(part: dict) -> None:
    messages = [{"role": "user", "content": [{"type": "text", "text": "x"}, part]}]
    with pytest.raises(AttachmentError,
                       match=r"^messages\[0\]\.content\[1\]\.(image_url\.url|file\.file_url): "
                             "invalid URL"):
        inline_attachments(messages, NoDownloads())
