"""Attachments (docs/protocol.md#attachments): the files that travel beside a message, as
``msg["attachments"] = {name: {"url", "size", "content-type"}}``; a component reaches them
through ``self.attachments`` (an :class:`Attachments`).

- Upload: the content is streamed in chunks to the object storage (``POST /objects``),
  never held whole; the answer is an :class:`Attachment` whose URL is the object's, with
  ``?storage_type=maester`` as Node's attachment helper writes it. The size is counted
  while sending and capped (``max_bytes``).
- Read: the sailor opens only what it can read with its own credentials: an object of the
  step's storage (with the token) and, in ``exec`` only, ``file://`` URLs. Any other URL
  (a public link, an older signed storage URL) is the component's to fetch under its own
  download policy: :meth:`Attachments.can_open` tells which is which.

Errors (every one a :class:`~.errors.SailorException`; none shows the token)::

    ObjectStorageError            the storage failed or refused (object_storage.py)
    AttachmentError               what was asked cannot be done
    ├── AttachmentTooLargeError   more bytes than max_bytes (names the attachment and limit)
    ├── AttachmentUrlError        a URL the sailor does not read itself (the component may)
    └── NoAttachmentStoreError    nowhere to upload (no ELASTICIO_OBJECT_STORAGE_URI)
"""

from __future__ import annotations

import io
import mimetypes
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

from .errors import SailorException
from .object_storage import (
    ATTACHMENT_TIMEOUT_S,
    ObjectStorage,
    announced_length,
    object_chunks,
)

KIB = 1024
MIB = 1024 * KIB
CHUNK_BYTES = 64 * KIB
# The platform documents no cap of its own for one attachment; Node's attachment helper
# refused bodies above 100 MB (its MAX_FILE_SIZE default). A caller may pass another cap.
DEFAULT_MAX_BYTES = 100 * MIB
DEFAULT_CONTENT_TYPE = "application/octet-stream"
STORAGE_TYPE_QUERY = "storage_type=maester"
CONTENT_TYPE_KEY = "content-type"
# Attachment names appear in error texts; a longer one is cut there.
MAX_NAME_CHARS_SHOWN = 200

Content = bytes | bytearray | memoryview | BinaryIO | Iterable[bytes] | Callable[[], Any]


class AttachmentError(SailorException):
    """An attachment request that cannot be done as asked."""


class AttachmentTooLargeError(AttachmentError):
    def __init__(self, name: str, limit: int, size: int | None = None) -> None:
        seen = f"{size} bytes" if size is not None else "more"
        super().__init__(
            f"attachment {shown(name)} is larger than the limit of {limit} bytes ({seen})")
        self.limit = limit


class AttachmentUrlError(AttachmentError):
    """The URL is not one the sailor reads itself (not the step's object storage, nor a
    ``file://`` URL in ``exec``): the component fetches it under its own policy, or not."""


class NoAttachmentStoreError(AttachmentError):
    """Nowhere to upload: task mode without ``ELASTICIO_OBJECT_STORAGE_URI``."""


def shown(name: str) -> str:
    """``name`` quoted for an error text, cut when very long."""
    if len(name) > MAX_NAME_CHARS_SHOWN:
        name = name[:MAX_NAME_CHARS_SHOWN] + "..."
    return repr(name)


@dataclass(frozen=True)
class Attachment:
    """One attachment: what a message's ``attachments`` entry holds, plus its name."""

    name: str
    url: str
    size: int | None = None
    content_type: str | None = None

    def to_message(self) -> dict[str, Any]:
        """The entry of ``msg["attachments"][name]``: ``{"url", "size", "content-type"}``
        (size and type only when known)."""
        entry: dict[str, Any] = {"url": self.url}
        if self.size is not None:
            entry["size"] = self.size
        if self.content_type is not None:
            entry[CONTENT_TYPE_KEY] = self.content_type
        return entry

    @classmethod
    def from_message(cls, name: str, entry: Any) -> Attachment:
        """An incoming ``msg["attachments"][name]`` entry; ``AttachmentError`` when it has no
        URL. A size that is not a non-negative integer and a type that is not text are left
        out (they come from upstream and are only hints)."""
        if not isinstance(entry, Mapping) or not isinstance(entry.get("url"), str):
            raise AttachmentError(f"attachment {shown(name)} has no url")
        size = entry.get("size")
        content_type = entry.get(CONTENT_TYPE_KEY)
        return cls(
            name=name, url=entry["url"],
            size=size if isinstance(size, int) and not isinstance(size, bool) and size >= 0
            else None,
            content_type=content_type if isinstance(content_type, str) else None)


def attachments_field(*attachments: Attachment) -> dict[str, dict[str, Any]]:
    """The ``attachments`` field of an outgoing message."""
    return {attachment.name: attachment.to_message() for attachment in attachments}


# --- content in ------------------------------------------------------------------------


class UploadSource:
    """What ``upload`` accepts, made into chunks: bytes, a binary file object, an iterable
    of bytes chunks, or a function returning a fresh file object or iterable per call.
    Bytes, a seekable file and a function can be sent again (``replayable``)."""

    def __init__(self, content: Content) -> None:
        self._content: Any = content
        self.size: int | None = None
        self.replayable = False
        self._start = 0
        if isinstance(content, bytes | bytearray | memoryview):
            self.size, self.replayable = memoryview(content).nbytes, True
        elif _is_file(content):
            self._start, self.size = _position_and_size(content)
            self.replayable = self.size is not None
        elif callable(content):
            self.replayable = True
        elif isinstance(content, str | dict) or not isinstance(content, Iterable):
            raise TypeError("attachment content must be bytes, a binary file, an iterable of "
                            f"bytes or a function returning one, not {type(content).__name__}")

    def chunks(self) -> Iterator[bytes]:
        """The content from its start, in chunks of at most ``CHUNK_BYTES``."""
        content = self._content
        if isinstance(content, bytes | bytearray | memoryview):
            view = memoryview(content).cast("B")
            return (bytes(view[at:at + CHUNK_BYTES]) for at in range(0, len(view), CHUNK_BYTES))
        made = callable(content) and not _is_file(content)
        if made:
            content = content()  # a fresh file or iterable for this attempt
        if _is_file(content):
            if self.replayable and not made:
                content.seek(self._start)
            return _file_chunks(content, close=made)  # a file we made, we close
        return iter(content)


def _is_file(value: Any) -> bool:
    return callable(getattr(value, "read", None))


def _position_and_size(file: Any) -> tuple[int, int | None]:
    """Where a seekable file is now and how many bytes follow; (0, None) when not seekable."""
    try:
        if not file.seekable():
            return 0, None
        start = file.tell()
        end = file.seek(0, os.SEEK_END)
        file.seek(start)
    except (OSError, ValueError, AttributeError):
        return 0, None
    return start, max(end - start, 0)


def _file_chunks(file: Any, *, close: bool) -> Iterator[bytes]:
    try:
        while chunk := file.read(CHUNK_BYTES):
            yield chunk
    finally:
        if close:
            file.close()


class CountedChunks:
    """Chunks passed through, counted and capped: more than ``limit`` bytes raises
    ``AttachmentTooLargeError`` before the chunk that passes the limit goes on."""

    def __init__(self, chunks: Iterable[Any], name: str, limit: int) -> None:
        self._chunks = chunks
        self._name = name
        self._limit = limit
        self.size = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            if not isinstance(chunk, bytes | bytearray | memoryview):
                raise AttachmentError(f"attachment {shown(self._name)}: the content gave a "
                                      f"{type(chunk).__name__} chunk, not bytes")
            length = memoryview(chunk).nbytes
            self.size += length
            if self.size > self._limit:
                raise AttachmentTooLargeError(self._name, self._limit)
            if length:
                yield bytes(chunk) if not isinstance(chunk, bytes) else chunk


# --- content out -----------------------------------------------------------------------


class AttachmentStream(io.RawIOBase):
    """An attachment being read: a binary file object (``read``, ``readinto``, ``with``)
    and :meth:`iter_chunks`. Reading past ``max_bytes`` raises ``AttachmentTooLargeError``;
    at most one chunk is held at a time."""

    def __init__(
        self,
        chunks: Iterable[bytes],
        *,
        name: str,
        max_bytes: int,
        size: int | None = None,
        content_type: str | None = None,
        on_close: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__()
        self.name = name
        self.size = size
        self.content_type = content_type
        self._counted = CountedChunks(chunks, name, max_bytes)
        self._chunks = iter(self._counted)
        self._pending = b""  # the current chunk, read up to _offset
        self._offset = 0
        self._on_close = on_close

    @property
    def bytes_read(self) -> int:
        """Bytes taken from the source so far."""
        return self._counted.size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._offset >= len(self._pending):
            self._pending, self._offset = next(self._chunks, b""), 0
        count = min(len(view), len(self._pending) - self._offset)
        view[:count] = memoryview(self._pending)[self._offset:self._offset + count]
        self._offset += count
        return count

    def iter_chunks(self) -> Iterator[bytes]:
        """The rest of the content, chunk by chunk as the source gives it."""
        if self._offset < len(self._pending):
            rest = self._pending[self._offset:]
            self._pending, self._offset = b"", 0
            yield rest
        yield from self._chunks

    def close(self) -> None:
        if not self.closed:
            try:
                self._on_close()
            finally:
                super().close()


# --- the component's API -----------------------------------------------------------------


class LocalFiles(Protocol):
    """``exec``'s files (local_attachments.py): where uploads go without object storage,
    and how ``file://`` URLs are read."""

    @property
    def writes(self) -> bool: ...

    def write(self, name: str, chunks: Iterable[bytes]) -> str: ...

    def handles(self, url: str) -> bool: ...

    def open(self, url: str) -> tuple[Iterator[bytes], int | None, Callable[[], None]]: ...


class Attachments:
    """``self.attachments``: upload and read attachments. Sync (it blocks while the bytes
    flow): call it from a sync ``process``, or through ``asyncio.to_thread`` from an
    ``async def`` one. Safe to use from several threads."""

    def __init__(self, storage: ObjectStorage | None = None, *,
                 local: LocalFiles | None = None) -> None:
        self._storage = storage if storage is not None and storage.configured else None
        self._local = local

    def upload(
        self,
        name: str,
        content: Content,
        *,
        content_type: str | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> Attachment:
        """Store ``content`` as the attachment ``name``; put the result into the outgoing
        message with :func:`attachments_field`. ``content_type`` defaults to a guess from
        the name's extension, else ``application/octet-stream``. A content of known size
        above ``max_bytes`` is refused before anything is sent; a stream is cut off when it
        passes the limit (no object is kept)."""
        if not isinstance(name, str) or not name:
            raise AttachmentError("an attachment needs a name")
        source = UploadSource(content)
        if source.size is not None and source.size > max_bytes:
            raise AttachmentTooLargeError(name, max_bytes, source.size)
        content_type = content_type or guess_content_type(name)
        counted: list[CountedChunks] = []

        def fresh_chunks() -> Iterator[bytes]:
            counted.append(CountedChunks(source.chunks(), name, max_bytes))
            return iter(counted[-1])

        if self._local is not None and self._local.writes:
            url = self._local.write(name, fresh_chunks())
        elif self._storage is not None:
            object_id = self._storage.post_object(
                fresh_chunks, content_type=content_type, replayable=source.replayable,
                timeout_s=ATTACHMENT_TIMEOUT_S)
            url = f"{self._storage.object_url(object_id)}?{STORAGE_TYPE_QUERY}"
        else:
            raise NoAttachmentStoreError(
                f"attachment {shown(name)} cannot be stored: ELASTICIO_OBJECT_STORAGE_URI "
                "is not set")
        return Attachment(name=name, url=url, size=counted[-1].size, content_type=content_type)

    def can_open(self, url: str) -> bool:
        """Whether :meth:`open` reads ``url`` itself (the step's object storage; ``file://``
        in ``exec``). For any other URL the component decides whether and how to fetch it."""
        return bool((self._storage is not None and self._storage.object_id_of(url))
                    or (self._local is not None and self._local.handles(url)))

    def open(self, attachment: Attachment | Mapping[str, Any] | str, *,
             max_bytes: int = DEFAULT_MAX_BYTES, name: str | None = None) -> AttachmentStream:
        """Open an attachment for reading: an :class:`Attachment`, a message's
        ``attachments`` entry or a URL. Close the stream when done (``with``).
        ``AttachmentUrlError`` when :meth:`can_open` is false for its URL."""
        if isinstance(attachment, str):
            attachment = Attachment(name=name or "attachment", url=attachment)
        elif not isinstance(attachment, Attachment):
            attachment = Attachment.from_message(name or "attachment", attachment)
        if attachment.size is not None and attachment.size > max_bytes:
            raise AttachmentTooLargeError(attachment.name, max_bytes, attachment.size)
        object_id = self._storage.object_id_of(attachment.url) if self._storage else None
        if self._storage is not None and object_id:
            response = self._storage.open_object(object_id)
            length = announced_length(response)
            if length is not None and length > max_bytes:
                response.close()
                raise AttachmentTooLargeError(attachment.name, max_bytes, length)
            return AttachmentStream(
                object_chunks(response, object_id), name=attachment.name, max_bytes=max_bytes,
                size=length if length is not None else attachment.size,
                content_type=attachment.content_type or response.headers.get("Content-Type"),
                on_close=response.close)
        if self._local is not None and self._local.handles(attachment.url):
            chunks, size, on_close = self._local.open(attachment.url)
            if size is not None and size > max_bytes:
                on_close()
                raise AttachmentTooLargeError(attachment.name, max_bytes, size)
            return AttachmentStream(
                chunks, name=attachment.name, max_bytes=max_bytes, size=size,
                content_type=attachment.content_type or guess_content_type(attachment.url),
                on_close=on_close)
        raise AttachmentUrlError(
            f"attachment {shown(attachment.name)}: the sailor reads only the step's object "
            "storage" + (" and file:// URLs" if self._local is not None else ""))


def guess_content_type(name: str) -> str:
    return mimetypes.guess_type(name, strict=False)[0] or DEFAULT_CONTENT_TYPE
