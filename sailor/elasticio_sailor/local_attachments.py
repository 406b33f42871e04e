"""Attachments in ``exec`` (docs/protocol.md#attachments-in-exec): files on this machine.

Without object storage the local runner writes each uploaded attachment into a folder and
emits its ``file://`` URL; ``file://`` URLs are read back, so that steps chained by hand
(one ``exec``'s output as the next one's ``--msg``) pass their files along. Only the local
runner creates a :class:`LocalFolder`: task mode never reads a ``file://`` URL.

A message is input, and a replayed one may be hostile: a ``file://`` URL is read only when
the file it names, with every symlink and ``..`` resolved, lies inside the attachments
folder or a folder the user allowed (``--allow-files``). Anything else is refused unread.
"""

from __future__ import annotations

import os
import stat
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit
from urllib.request import url2pathname

from .attachments import CHUNK_BYTES, AttachmentError, shown

ALLOW_OPTION = "--allow-files"
# Opened without following a last symlink (the path is resolved already) and without
# waiting for a writer (a FIFO would block the read forever).
READ_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)

TEMP_PREFIX = "elasticio-attachments-"
FALLBACK_FILE_NAME = "attachment"
MAX_FILE_NAME_BYTES = 200  # file systems allow 255; room for a "-<n>" suffix
MAX_SAME_NAME = 100  # file.txt, file-2.txt ... file-100.txt


class LocalFileNotAllowedError(AttachmentError):
    """A ``file://`` URL naming a file outside the folders ``exec`` may read (the user's
    to allow, with ``--allow-files``)."""


class LocalFolder:
    """Uploads as files in ``folder`` (a new temporary folder when None, made on the first
    upload) when ``writes``; ``file://`` URLs read in any case, but only of files inside
    ``folder`` or one of ``readable``. ``announce(folder)`` is called once, before the
    first file is written."""

    def __init__(self, folder: Path | None, *, writes: bool, readable: Iterable[Path] = (),
                 announce: Callable[[Path], None] = lambda _folder: None) -> None:
        self._folder = folder
        self._readable = tuple(readable)
        self._writes = writes
        self._announce = announce
        self._announced = False
        self._lock = threading.Lock()

    @property
    def writes(self) -> bool:
        return self._writes

    def write(self, name: str, chunks: Iterable[bytes]) -> str:
        """Write ``chunks`` to a new file named after ``name``; its ``file://`` URL. A
        failure while writing (a chunk over the size limit) removes the partial file."""
        path = self._new_file(name)
        try:
            with path.open("wb") as file:
                for chunk in chunks:
                    file.write(chunk)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return path.as_uri()

    def handles(self, url: str) -> bool:
        try:
            parts = urlsplit(url)
        except ValueError:
            return False
        return parts.scheme.lower() == "file" and parts.netloc in ("", "localhost")

    def open(self, url: str) -> tuple[Iterator[bytes], int | None, Callable[[], None]]:
        """The chunks of the file a ``file://`` URL names, its size, and how to close it.
        ``LocalFileNotAllowedError`` when the file is outside the readable folders."""
        path = url2pathname(urlsplit(url).path)  # percent-decoded once, as written
        real = self._allowed(path)
        try:
            fd = os.open(real, READ_FLAGS)
        except OSError as exc:
            raise AttachmentError(f"cannot read {shown(path)}: {exc.strerror}") from None
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            os.close(fd)
            raise AttachmentError(f"{shown(path)} is not a regular file")
        file = os.fdopen(fd, "rb")
        return iter(lambda: file.read(CHUNK_BYTES), b""), status.st_size, file.close

    def _allowed(self, path: str) -> str:
        """``path`` with symlinks and ``..`` resolved, if that is inside a readable folder."""
        roots = self._roots()
        if "\0" not in path:
            real = os.path.realpath(path)
            if any(Path(real).is_relative_to(root) for root in roots):
                return real
        folders = ", ".join(shown(str(root)) for root in roots) or "none yet"
        raise LocalFileNotAllowedError(
            f"{shown(path)} is outside the folders exec reads attachments from ({folders}); "
            f"to read files of a folder, name it with {ALLOW_OPTION} DIR (or use it as "
            "--attachments-dir)")

    def _roots(self) -> list[Path]:
        """The readable folders, resolved; the attachments folder once it is known."""
        with self._lock:
            folders = [*([self._folder] if self._folder is not None else []), *self._readable]
        return [Path(os.path.realpath(folder)) for folder in folders]

    def _new_file(self, name: str) -> Path:
        folder = self._ready_folder()
        stem, suffix = _split(_file_name(name))
        for number in range(1, MAX_SAME_NAME + 1):
            path = folder / (f"{stem}{suffix}" if number == 1 else f"{stem}-{number}{suffix}")
            try:
                os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            except FileExistsError:
                continue
            return path
        raise AttachmentError(
            f"attachment {shown(name)}: {MAX_SAME_NAME} files of that name in {folder} already")

    def _ready_folder(self) -> Path:
        with self._lock:
            if self._folder is None:
                self._folder = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
            else:
                self._folder.mkdir(parents=True, exist_ok=True)
            if not self._announced:
                self._announced = True
                self._announce(self._folder)
            return self._folder


def _file_name(name: str) -> str:
    """A safe file name for an attachment name: its last path part, without NULs, short."""
    base = PurePosixPath(name.replace("\\", "/").replace("\0", "")).name
    if base in ("", ".", ".."):
        base = FALLBACK_FILE_NAME
    if len(base.encode()) > MAX_FILE_NAME_BYTES:
        suffix = PurePosixPath(base).suffix
        base = FALLBACK_FILE_NAME + (suffix if len(suffix.encode()) <= 20 else "")
    return base


def _split(file_name: str) -> tuple[str, str]:
    path = PurePosixPath(file_name)
    if path.suffix and path.stem:
        return path.stem, path.suffix
    return file_name, ""
