"""File inputs: a file an action sends to the API, from an attachment or a URL, streamed.

A file input (Transcribe Audio's ``file``, Upload File's ``file``, Edit Image's images)
names one of the message's attachments (``msg["attachments"]``) or gives a URL; left empty,
it takes the message's only attachment that fits (an audio file, an image...). What can
be checked before a byte goes to the API is checked first: that the attachment exists
and fits, that its declared size is within the limit; then the download is started, and
its declared size and type are checked too.

The bytes are read only while the request is sent, chunk by chunk: a file is never held
whole. A retry of the request opens the source again (downloads it again) instead of
keeping a copy. Where the bytes come from:

- ``http``/``https`` URLs (the platform's object storage included) through the download
  policy (``lib.attachments.downloads``): internal networks refused, the storage's token
  only to the storage, sizes capped while reading;
- ``file:`` URLs of the message's attachments that the runtime reads itself (``exec`` on
  a laptop keeps attachments as files), through the runtime's reader that the action
  passes in (`LocalReader`); a ``file:`` URL written in the body is refused, so that a
  body cannot read a file of the machine;
- ``data:`` URLs: their bytes are in the message already.

Errors name the input (``file``) and the attachment; none shows a URL's query. The step's
stop signal is looked at between two chunks: a shutdown ends the upload at once.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import unquote, unquote_to_bytes

from lib.attachments.downloads import Downloads
from lib.errors import AttachmentError, AttachmentTooLargeError
from lib.openai.errors import CallInterruptedError
from lib.redaction import url_for_humans
from lib.urls import split_url

MAX_NAMES_SHOWN = 5
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]{0,31}")
DEFAULT_MEDIA_TYPE = "application/octet-stream"
GENERIC_MEDIA_TYPES = frozenset({DEFAULT_MEDIA_TYPE, "binary/octet-stream"})


class FileInputError(AttachmentError):
    """A file input names no usable file: a missing attachment, none or several that fit,
    a file of the wrong kind."""


class LocalReader(Protocol):
    """The runtime's reader of the files it holds itself (``exec``'s ``file:`` URLs)."""

    def can_open(self, url: str) -> bool: ...

    def open(self, attachment: Any, *, max_bytes: int = ..., name: str | None = None
             ) -> Any: ...


@dataclass(frozen=True)
class FileKind:
    """What an input takes: its `noun` (``audio file``), its size `limit` in bytes, and
    which files fit (by name and media type; `formats` lists them for an error)."""

    noun: str
    limit: int
    fits: Callable[[str, str | None], bool] = lambda _name, _media_type: True
    formats: str = ""


@dataclass(frozen=True)
class FileInput:
    """The file an input stands for: where it is named (`place`), the file's name, its URL,
    and what its attachment entry declared (size, media type)."""

    place: str
    name: str
    url: str
    attachment: bool
    size: int | None = None
    media_type: str | None = None

    @property
    def shown(self) -> str:
        """The file in an error text: the attachment's name, or the URL without query."""
        return repr(self.name[:100]) if self.attachment else url_for_humans(self.url)


def choose_file(value: Any, attachments: Any, *, place: str, kind: FileKind) -> FileInput:
    """The file `value` names: an attachment's name, a URL, or (empty) the message's
    only attachment of the `kind`. Raises `FileInputError`, or `AttachmentTooLargeError`
    for an attachment that declares more bytes than the kind's limit."""
    entries = _entries(attachments)
    text = value.strip() if isinstance(value, str) else ""
    if text in entries:
        chosen = _from_entry(place, text, entries[text])
    elif _is_url(text):
        if text.lower().startswith("file:"):
            raise FileInputError(
                f"{place}: a file: URL is read only as one of the message's attachments "
                "(exec keeps them as files), never from the body")
        chosen = FileInput(place, name_in_url(text), text, attachment=False)
    elif text:
        raise FileInputError(
            f"{place}: the message has no attachment named {text[:100]!r} "
            f"({_listed(entries)}); give an attachment's name or a URL")
    else:
        chosen = _the_only_fitting(place, entries, kind)
    _check_size(chosen, chosen.size, kind)
    if chosen.attachment:
        _check_fits(chosen, chosen.media_type, kind)
    return chosen


def _is_url(text: str) -> bool:
    """A URL (of any scheme: the policy refuses the ones it does not take) rather than an
    attachment's name (which may hold a colon, not ``://``)."""
    scheme, colon, rest = text.partition(":")
    return bool(colon) and bool(_SCHEME.fullmatch(scheme)) and (
        rest.startswith("//") or scheme.lower() in ("data", "file"))


def _entries(attachments: Any) -> dict[str, Mapping[str, Any]]:
    if not isinstance(attachments, Mapping):
        return {}
    return {str(name): entry for name, entry in attachments.items()
            if isinstance(entry, Mapping)}


def _from_entry(place: str, name: str, entry: Mapping[str, Any]) -> FileInput:
    url = entry.get("url")
    if not isinstance(url, str) or not url.strip():
        raise FileInputError(f"{place}: the attachment {name[:100]!r} has no url")
    size = entry.get("size")
    media_type = entry.get("content-type")
    return FileInput(
        place, name, url.strip(), attachment=True,
        size=size if isinstance(size, int) and not isinstance(size, bool) and size >= 0
        else None,
        media_type=_bare(media_type) if isinstance(media_type, str) else None)


def _the_only_fitting(place: str, entries: Mapping[str, Mapping[str, Any]],
                      kind: FileKind) -> FileInput:
    fitting = [name for name, entry in entries.items()
               if kind.fits(name, _bare(entry.get("content-type")))]
    if len(fitting) == 1:
        return _from_entry(place, fitting[0], entries[fitting[0]])
    if not fitting:
        raise FileInputError(
            f"{place}: give an attachment's name or a URL: the message has no "
            f"{kind.noun} among its attachments ({_listed(entries)})")
    raise FileInputError(
        f"{place}: the message has {len(fitting)} attachments that are {kind.noun}s "
        f"({_names(fitting)}): name the one to use")


def _check_fits(file: FileInput, media_type: str | None, kind: FileKind) -> None:
    if not kind.fits(file.name, media_type):
        formats = f"; it takes {kind.formats}" if kind.formats else ""
        raise FileInputError(
            f"{file.place}: {file.shown} ({media_type or 'no content type'}) is not an "
            f"{kind.noun} the API takes{formats}")


def _check_size(file: FileInput, size: int | None, kind: FileKind) -> None:
    if size is not None and size > kind.limit:
        raise AttachmentTooLargeError(
            f"{file.place}: the {kind.noun} {file.shown} has {size:,} bytes; the API takes "
            f"at most {kind.limit:,}")


def _bare(media_type: Any) -> str | None:
    if not isinstance(media_type, str):
        return None
    return media_type.split(";", 1)[0].strip().lower() or None


def _listed(entries: Mapping[str, Any]) -> str:
    return f"attachments: {_names(list(entries))}" if entries else "it has none"


def _names(names: list[str]) -> str:
    shown = [repr(name[:60]) for name in names[:MAX_NAMES_SHOWN]]
    more = len(names) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def name_in_url(url: str) -> str:
    """The last segment of a URL's path (unescaped), or '' when it has none."""
    if url.lower().startswith("data:"):
        return ""
    try:
        path = split_url(url).path
    except ValueError:
        return ""
    return unquote(path.rstrip("/").rpartition("/")[2])


# ---- reading ---------------------------------------------------------------------------


@dataclass
class _Opened:
    chunks: Iterable[bytes]
    size: int | None
    media_type: str | None
    close: Callable[[], None] = lambda: None


@dataclass
class FileSource:
    """An opened file input: its media type and size (when the source declares it), and
    `open` for a
    multipart file part (the first call hands over the download already started, later
    calls start it again). Close it (or use `with`) when the request is done."""

    file: FileInput
    kind: FileKind
    media_type: str | None
    size: int | None
    _reopen: Callable[[], _Opened] = field(repr=False)
    _stop: threading.Event | None = field(repr=False)
    _current: _Opened | None = field(default=None, repr=False)
    _fresh: bool = field(default=True, repr=False)

    @property
    def content_type(self) -> str:
        """The media type to send the file as (``application/octet-stream`` if unknown)."""
        return self.media_type or DEFAULT_MEDIA_TYPE

    def open(self) -> Iterator[bytes]:
        if self._fresh and self._current is not None:
            self._fresh = False
        else:
            self.close()
            self._current = self._reopen()
        return self._guarded(self._current.chunks)

    def _guarded(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            if self._stop is not None and self._stop.is_set():
                raise CallInterruptedError(
                    f"{self.file.place}: the upload of {self.file.shown} was stopped: the "
                    "step is shutting down; the message is left for redelivery")
            yield chunk

    def close(self) -> None:
        current, self._current = self._current, None
        if current is not None:
            current.close()

    def __enter__(self) -> FileSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_file(file: FileInput, kind: FileKind, downloads: Downloads, *,
              local: LocalReader | None = None, stop: threading.Event | None = None,
              logger: Any = None) -> FileSource:
    """Start reading `file` (see the module's docstring for the sources): its size and
    type are checked against `kind` before anything is sent; `logger` gets one line
    saying what is sent (never a URL's query)."""

    def start() -> _Opened:
        return _start(file, kind, downloads, local)

    opened = start()
    try:
        media_type = _checked_media_type(file, kind, opened)
    except BaseException:
        opened.close()
        raise
    if logger is not None:
        size = "size unknown" if opened.size is None else f"{opened.size:,} bytes"
        logger.info("%s: streaming %s to the API (%s, %s)", file.place, file.shown,
                    media_type or "no content type", size)
    # Only the source's own size is sent as the part's length: an attachment entry's size
    # is a hint from upstream.
    return FileSource(file, kind, media_type, opened.size, start, stop, opened)


def _checked_media_type(file: FileInput, kind: FileKind, opened: _Opened) -> str | None:
    """The file's media type (the source's, unless generic); its size and (for a URL) its
    type checked against `kind`."""
    media_type = opened.media_type
    if media_type in GENERIC_MEDIA_TYPES or media_type is None:
        media_type = file.media_type or media_type
    _check_size(file, opened.size if opened.size is not None else file.size, kind)
    if not file.attachment:
        _check_fits(file, media_type, kind)
    return media_type


def _start(file: FileInput, kind: FileKind, downloads: Downloads,
           local: LocalReader | None) -> _Opened:
    if file.url.lower().startswith("data:"):
        data, media_type = _data_url(file)
        return _Opened([data], len(data), media_type)
    if (file.attachment and file.url.lower().startswith("file:") and local is not None
            and local.can_open(file.url)):
        stream = local.open(file.url, max_bytes=kind.limit, name=file.name or None)
        return _Opened(stream.iter_chunks(), stream.size, _bare(stream.content_type),
                       stream.close)
    download = downloads.open(file.url, file.place, kind.limit, kind.noun)
    return _Opened(download.chunks, download.length, download.media_type, download.close)


def _data_url(file: FileInput) -> tuple[bytes, str | None]:
    header, comma, payload = file.url[len("data:"):].partition(",")
    if not comma:
        raise FileInputError(f"{file.place}: the data: URL has no ',' before its data")
    media_type = _bare(header.split(";", 1)[0])
    if header.lower().endswith(";base64"):
        try:
            return base64.b64decode(payload, validate=True), media_type
        except (binascii.Error, ValueError):
            raise FileInputError(f"{file.place}: the data: URL is not valid base64") from None
    return unquote_to_bytes(payload), media_type
