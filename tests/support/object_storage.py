"""A stand-in for the platform's object storage ("maester") on 127.0.0.1, for tests.

It speaks the part of the protocol the sailor uses (docs/protocol.md#object-storage):

- every request must carry ``Authorization: Bearer <token>`` (else 401);
- ``POST <base>/objects`` stores the request body (``Content-Length`` or chunked) and
  answers ``{"objectId": ...}``; a ``Content-Type`` is required (else 400) and kept; a body
  over ``max_object_bytes`` is refused with 413; a chunked body that ends before its last
  chunk (the client gave up) is not stored;
- ``GET <base>/objects/<id>`` sends it back with its type and length (404 if unknown).

It counts what crossed the wire (requests, bytes in and out) and can fail the next
requests on purpose (:meth:`fail_next`), break reads off (:meth:`cut_reads_after`) or send
them without their length (:meth:`hide_read_length`). A reader that hangs up mid-body
stops the sending (what was written until then is counted).
With ``keep_content=False`` it keeps only the size and SHA-256 of each object, so that a
test can push far more than it wants to hold.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

READ_CHUNK = 64 * 1024
POLL_INTERVAL_S = 0.02  # how often serve_forever looks at its stop flag


@dataclass
class StoredObject:
    size: int
    sha256: str
    content_type: str
    content: bytes | None  # None when the stand-in keeps no content


@dataclass
class Call:
    method: str
    path: str
    headers: dict[str, str]
    status: int = 0


@dataclass
class _State:
    token: str
    base_path: str
    keep_content: bool
    max_object_bytes: int | None
    objects: dict[str, StoredObject] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    failures: dict[str, list[int]] = field(default_factory=dict)
    cut_reads_after: int | None = None
    hide_read_length: bool = False
    bytes_received: int = 0
    bytes_sent: int = 0
    aborted_uploads: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    handled: threading.Condition = field(default_factory=threading.Condition)
    finished_calls: int = 0


class ObjectStorageStandIn:
    """``with ObjectStorageStandIn(token) as storage: ... storage.url ...``"""

    def __init__(self, token: str, *, base_path: str = "/maester", keep_content: bool = True,
                 max_object_bytes: int | None = None) -> None:
        self._state = _State(token=token, base_path=base_path.rstrip("/"),
                             keep_content=keep_content, max_object_bytes=max_object_bytes)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self._state))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}{self._state.base_path}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(POLL_INTERVAL_S,), daemon=True)
        self._thread.start()

    def __enter__(self) -> ObjectStorageStandIn:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    # --- what a test sets up --------------------------------------------------------------

    def put(self, content: bytes, content_type: str = "application/octet-stream") -> str:
        """Store an object directly (as if another step had uploaded it); its id."""
        object_id = str(uuid.uuid4())
        self._state.objects[object_id] = StoredObject(
            len(content), hashlib.sha256(content).hexdigest(), content_type, content)
        return object_id

    def object_url(self, object_id: str) -> str:
        """The URL of an object as Node's attachment helper writes it."""
        return f"{self.url}/objects/{object_id}?storage_type=maester"

    def cut_reads_after(self, size: int | None) -> None:
        """From now on, a read announces the whole length but stops after ``size`` bytes."""
        self._state.cut_reads_after = size

    def hide_read_length(self, hidden: bool = True) -> None:
        """From now on, a read has no ``Content-Length``: the body ends when the
        connection closes."""
        self._state.hide_read_length = hidden

    def fail_next(self, method: str, *statuses: int) -> None:
        """Answer the next ``method`` requests with these statuses, one each."""
        self._state.failures.setdefault(method, []).extend(statuses)

    # --- what a test observes -------------------------------------------------------------

    @property
    def objects(self) -> dict[str, StoredObject]:
        return self._state.objects

    @property
    def calls(self) -> list[Call]:
        return list(self._state.calls)

    @property
    def bytes_received(self) -> int:
        return self._state.bytes_received

    @property
    def bytes_sent(self) -> int:
        return self._state.bytes_sent

    @property
    def aborted_uploads(self) -> int:
        return self._state.aborted_uploads

    def wait_handled(self, calls: int, timeout_s: float = 10) -> None:
        """Wait until the stand-in has finished ``calls`` requests (a client that gave up
        returns before the stand-in has read what it sent)."""
        with self._state.handled:
            if not self._state.handled.wait_for(
                    lambda: self._state.finished_calls >= calls, timeout_s):
                raise AssertionError(f"the stand-in finished {self._state.finished_calls} "
                                     f"of {calls} requests")

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self._state.calls if call.method == method]


class _AbortedUploadError(Exception):
    """The client stopped sending before the body was complete."""


def _handler_for(state: _State) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the platform's storage

        def _handle(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            call = Call(self.command, self.path, headers)
            with state.lock:
                state.calls.append(call)
            try:
                call.status = self._answer(headers)
            except _AbortedUploadError:
                with state.lock:
                    state.aborted_uploads += 1
                self.close_connection = True
            finally:
                with state.handled:
                    state.finished_calls += 1
                    state.handled.notify_all()

        def _answer(self, headers: dict[str, str]) -> int:
            objects_path = state.base_path + "/objects"
            path = self.path.split("?", 1)[0]
            if headers.get("authorization") != f"Bearer {state.token}":
                self._drain_body(headers)
                return self._json(401, {"error": "Unauthorized"})
            planned = state.failures.get(self.command)
            if planned:
                self._drain_body(headers)
                return self._json(planned.pop(0), {"error": "failing on purpose"})
            if self.command == "POST" and path == objects_path:
                return self._create(headers)
            if self.command == "GET" and path.startswith(objects_path + "/"):
                return self._read(path[len(objects_path) + 1:])
            self._drain_body(headers)
            return self._json(404, {"error": "Not found"})

        def _create(self, headers: dict[str, str]) -> int:
            content_type = headers.get("content-type")
            if not content_type:
                self._drain_body(headers)
                return self._json(400, {"error": "content-type is required"})
            digest, size, kept = hashlib.sha256(), 0, []
            limit = state.max_object_bytes
            for chunk in self._body(headers):
                size += len(chunk)
                if limit is not None and size > limit:
                    self.close_connection = True
                    return self._json(413, {"error": "Request Entity Too Large"})
                digest.update(chunk)
                if state.keep_content:
                    kept.append(chunk)
            object_id = str(uuid.uuid4())
            state.objects[object_id] = StoredObject(
                size, digest.hexdigest(), content_type,
                b"".join(kept) if state.keep_content else None)
            return self._json(201, {"objectId": object_id, "contentType": content_type,
                                    "contentLength": size})

        def _read(self, object_id: str) -> int:
            stored = state.objects.get(object_id)
            if stored is None:
                return self._json(404, {"error": "Not found"})
            if stored.content is None:
                return self._json(410, {"error": "the stand-in kept no content"})
            self.send_response(200)
            self.send_header("Content-Type", stored.content_type)
            if state.hide_read_length:
                self.send_header("Connection", "close")
            else:
                self.send_header("Content-Length", str(stored.size))
            self.end_headers()
            end = stored.size if state.cut_reads_after is None else state.cut_reads_after
            self.close_connection = end < stored.size or state.hide_read_length
            for at in range(0, end, READ_CHUNK):
                piece = stored.content[at:min(at + READ_CHUNK, end)]
                try:
                    self.wfile.write(piece)
                except OSError:  # the reader hung up
                    self.close_connection = True
                    break
                with state.lock:
                    state.bytes_sent += len(piece)
            return 200

        def _body(self, headers: dict[str, str]) -> Iterator[bytes]:
            """The request body in pieces, as it arrives; ``_AbortedUploadError`` if cut short."""
            if headers.get("transfer-encoding", "").lower() == "chunked":
                yield from self._chunked()
                return
            yield from self._exactly(int(headers.get("content-length") or 0))

        def _chunked(self) -> Iterator[bytes]:
            while True:
                line = self.rfile.readline(1024)
                if not line.endswith(b"\n"):
                    raise _AbortedUploadError
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return
                yield from self._exactly(size)
                if self.rfile.readline(1024) not in (b"\r\n", b"\n"):
                    raise _AbortedUploadError

        def _exactly(self, remaining: int) -> Iterator[bytes]:
            while remaining:
                piece = self.rfile.read(min(remaining, READ_CHUNK))
                if not piece:
                    raise _AbortedUploadError
                self._count(piece)
                remaining -= len(piece)
                yield piece

        def _drain_body(self, headers: dict[str, str]) -> None:
            for _piece in self._body(headers):
                pass

        def _count(self, piece: bytes) -> None:
            with state.lock:
                state.bytes_received += len(piece)

        def _json(self, status: int, payload: Any) -> int:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            return status

        do_GET = do_POST = do_PUT = do_DELETE = _handle  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    return Handler
