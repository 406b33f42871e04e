"""The platform's object storage ("maester"): its URLs need the sailor's bearer token.

Attachments that live there (the original component's ``file_url``s) are downloaded with
``Authorization: Bearer <ELASTICIO_OBJECT_STORAGE_TOKEN>``; every other URL is fetched
without credentials. The token is never logged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

URI_VARIABLE = "ELASTICIO_OBJECT_STORAGE_URI"
TOKEN_VARIABLE = "ELASTICIO_OBJECT_STORAGE_TOKEN"  # noqa: S105 - a variable name


def _origin(url: str) -> tuple[str, str, int | None] | None:
    try:
        parts = urlsplit(url)
        return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port
    except ValueError:
        return None


@dataclass(frozen=True)
class ObjectStorage:
    base_url: str | None = None
    token: str | None = field(default=None, repr=False)

    @property
    def hosts(self) -> tuple[str, ...]:
        """The storage's host name, for the list of hosts OpenAI cannot reach."""
        origin = _origin(self.base_url) if self.base_url else None
        return (origin[1],) if origin and origin[1] else ()

    def headers_for(self, url: str) -> dict[str, str] | None:
        """The auth header for a URL of the storage, None for any other URL."""
        if not (self.base_url and self.token):
            return None
        if _origin(url) != _origin(self.base_url):
            return None
        if not urlsplit(url).path.startswith(urlsplit(self.base_url).path.rstrip("/")):
            return None
        return {"Authorization": f"Bearer {self.token}"}


def object_storage_from(environ: Mapping[str, str]) -> ObjectStorage:
    """The storage the sailor was started with (none outside the platform)."""
    return ObjectStorage(
        base_url=environ.get(URI_VARIABLE) or None, token=environ.get(TOKEN_VARIABLE) or None
    )
