"""Files out: what an action makes (speech audio, images) leaves the step as an attachment.

The bytes are handed to the runtime's attachment store as they arrive (the platform's
object storage; a folder of files under ``exec``), never into the message body: a message
is limited to 10 MB, and base64 would make a file a third larger. The outgoing message
carries the store's entry under ``attachments`` and, in its body, a reference to it
(name, size, content type), so that a mapping downstream can name the file.

A file whose bytes come while something else is read (the images inside one answer) is
spooled first (:class:`Spool`): a file on disk can be uploaded again when an upload fails
half-way (the runtime repeats uploads of content it can open anew), where a stream that
is read once could not.

The store is the runtime's (the action passes ``self.attachments``); its errors (no
storage configured, the storage failing, a file over the cap) reach the platform as they
are.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

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


def store_file(store: AttachmentStore, name: str,
               chunks: Iterable[bytes] | Callable[[], IO[bytes]], content_type: str,
               max_bytes: int = MAX_OUTPUT_FILE_BYTES) -> OutputFile:
    """Upload `chunks` (or the file a function opens anew for every attempt) as the
    attachment `name`, streamed: one chunk held at a time."""
    stored = store.upload(name, chunks, content_type=content_type, max_bytes=max_bytes)
    return OutputFile(name=stored.name, entry=stored.to_message(), size=int(stored.size),
                      content_type=stored.content_type or content_type)


def message_with_files(body: dict[str, Any], *files: OutputFile) -> dict[str, Any]:
    """The outgoing message: `body` and the files under ``attachments``."""
    return {"body": body, "attachments": {file.name: dict(file.entry) for file in files}}


class Spool:
    """Files out kept in a temporary folder until they are stored; the folder goes when
    the spool is closed (use `with`)."""

    def __init__(self) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="files-out-")
        self._writing: list[IO[bytes]] = []
        self.paths: list[Path] = []

    def new_file(self) -> IO[bytes]:
        """A new file to write (its path is ``paths[-1]``; it is closed by :meth:`done`)."""
        path = Path(self._folder.name) / str(len(self.paths))
        file = path.open("wb")
        self._writing.append(file)
        self.paths.append(path)
        return file

    def done(self) -> None:
        """Close the files written so far (their bytes are then on disk)."""
        while self._writing:
            self._writing.pop().close()

    def close(self) -> None:
        self.done()
        self._folder.cleanup()

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def store_spooled(store: AttachmentStore, name: str, path: Path, content_type: str,
                  max_bytes: int = MAX_OUTPUT_FILE_BYTES) -> OutputFile:
    """Upload a spooled file as the attachment `name`; an attempt that fails half-way is
    repeated from the file's start."""
    return store_file(store, name, lambda: path.open("rb"), content_type, max_bytes)
