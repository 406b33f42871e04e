"""The platform's object storage ("maester"): its URLs need the sailor's bearer token.

Attachments that live there (the original component's ``file_url``s) are downloaded with
``Authorization: Bearer <ELASTICIO_OBJECT_STORAGE_TOKEN>``; every other URL is fetched
without credentials. The token is never logged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from lib.urls import split_url

URI_VARIABLE = "ELASTICIO_OBJECT_STORAGE_URI"
TOKEN_VARIABLE = "ELASTICIO_OBJECT_STORAGE_TOKEN"  # noqa: S105 - a variable name


def _origin(url: str) -> tuple[str, str, int | None] | None:
    try:
        parts = split_url(url)
        return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port
    except ValueError:
        return None


@dataclass(frozen=True)
class ObjectStorage:
    base_url: str | None = None
    token: str | None = field(default=None, repr=False)

    def contains(self, url: str) -> bool:
        """Whether `url` is one of the storage's (its origin, below its base path)."""
        if not self.base_url or _origin(url) != _origin(self.base_url):
            return False
        return split_url(url).path.startswith(split_url(self.base_url).path.rstrip("/"))

    def headers_for(self, url: str) -> dict[str, str] | None:
        """The auth header for a URL of the storage, None for any other URL."""
        if not (self.token and self.contains(url)):
            return None
        return {"Authorization": f"Bearer {self.token}"}


def object_storage_from(environ: Mapping[str, str]) -> ObjectStorage:
    """The storage the sailor was started with (none outside the platform)."""
    return ObjectStorage(
        base_url=environ.get(URI_VARIABLE) or None, token=environ.get(TOKEN_VARIABLE) or None
    )
