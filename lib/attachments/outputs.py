"""Files out: what an action makes (speech audio, images) leaves the step as an attachment.

The bytes are handed to the runtime's attachment store as they arrive (the platform's
object storage; a folder of files under ``exec``), never into the message body: a message
is limited to 10 MB, and base64 would make a file a third larger. The outgoing message
carries the store's entry under ``attachments`` and, in its body, a reference to it
(name, size, content type), so that a mapping downstream can name the file.

The store is the runtime's (the action passes ``self.attachments``); its errors (no
storage configured, the storage failing, a file over the cap) reach the platform as they
are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from lib.openai.limits import MIB

# Beyond any answer the client reads (lib.openai.limits caps those lower).
MAX_OUTPUT_FILE_BYTES = 100 * MIB


class AttachmentStore(Protocol):
    """The runtime's store: `upload` streams the chunks and returns the new attachment
    (with `name`, `url`, `size`, `content_type` and `to_message()`)."""

    def upload(self, name: str, content: Any, *, content_type: str | None = None,
               max_bytes: int = ...) -> Any: ...


@dataclass(frozen=True)
class OutputFile:
    """An attachment made by the step: its name, its entry for the message's
    ``attachments``, and its size and content type."""

    name: str
    entry: Mapping[str, Any]
    size: int
    content_type: str

    def reference(self) -> dict[str, Any]:
        """What the output body says about the file (never its bytes, nor its URL)."""
        return {"name": self.name, "size": self.size, "content_type": self.content_type}


def store_file(store: AttachmentStore, name: str, chunks: Iterable[bytes],
               content_type: str, max_bytes: int = MAX_OUTPUT_FILE_BYTES) -> OutputFile:
    """Upload `chunks` as the attachment `name` (streamed: one chunk held at a time)."""
    stored = store.upload(name, chunks, content_type=content_type, max_bytes=max_bytes)
    return OutputFile(name=stored.name, entry=stored.to_message(), size=int(stored.size),
                      content_type=stored.content_type or content_type)


def message_with_files(body: dict[str, Any], *files: OutputFile) -> dict[str, Any]:
    """The outgoing message: `body` and the files under ``attachments``."""
    return {"body": body, "attachments": {file.name: dict(file.entry) for file in files}}
