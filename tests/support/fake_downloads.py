"""Attachment downloads with the real policy, budgets and texts, and the network replaced
by a table of files (for tests of the walks that inline attachments)."""

from __future__ import annotations

from typing import Any

from lib.attachments.downloads import DownloadPolicy, Downloads


class FakeDownloads(Downloads):
    """The real budgets and texts; the network replaced by a table of files."""

    def __init__(self, files: dict[str, tuple[bytes, str | None]],
                 policy: DownloadPolicy | None = None, **kwargs: Any) -> None:
        super().__init__(policy or DownloadPolicy(), **kwargs)
        self.files = files
        self.calls: list[tuple[str, int]] = []

    def _get(self, url: str, max_bytes: int) -> tuple[bytes, str | None]:
        self.calls.append((url, max_bytes))
        return self.files[url]
