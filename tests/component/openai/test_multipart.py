"""The streamed multipart body: what a server reads back, its length, and what it holds."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from lib.errors import UserError
from lib.openai.errors import BadRequestError
from lib.openai.multipart import (
    FilePart,
    MultipartForm,
    SizedBody,
    SourceSizeError,
    form_fields,
)
from tests.support.multipart_form import parse_form, read_body

CHUNK = 64 * 1024


class CountingSource:
    """A re-openable source of `size` bytes in `chunk`-byte pieces, made on the fly; it
    counts the opens and the largest piece handed out."""

    def __init__(self, size: int, chunk: int = CHUNK) -> None:
        self.size = size
        self.chunk = chunk
        self.opens = 0

    def __call__(self) -> Iterator[bytes]:
        self.opens += 1
        sent = 0
        while sent < self.size:
            piece = min(self.chunk, self.size - sent)
            yield bytes([sent // self.chunk % 251]) * piece
            sent += piece


def test_a_server_reads_back_every_field_and_file_byte_for_byte() -> None:
    audio = bytes(range(256)) * 40 + b"\r\n--not-a-boundary\r\n"
    form = MultipartForm(
        fields=[("model", "whisper-1"), ("timestamp_granularities[]", "word"),
                ("timestamp_granularities[]", "segment"), ("prompt", "Grüße\r\nzweite Zeile")],
        files=[FilePart("file", 'Bericht "Q3".mp3', lambda: [audio[:100], b"", audio[100:]],
                        "audio/mpeg", len(audio))],
    )
    body = b"".join(form.body())
    assert len(body) == form.length

    parsed = parse_form(form.content_type, body)
    assert parsed.texts_of("timestamp_granularities[]") == ["word", "segment"]
    assert parsed.text("prompt") == "Grüße\r\nzweite Zeile"
    sent = parsed.file("file")
    assert sent is not None
    assert (sent.filename, sent.content_type, sent.data) == (
        'Bericht "Q3".mp3', "audio/mpeg", audio)


def test_json_values_become_fields_the_way_the_sdks_send_them() -> None:
    assert form_fields({
        "purpose": "batch", "expires_after": {"anchor": "created_at", "seconds": 3600},
        "include": ["logprobs"], "stream": False, "temperature": 0.5, "language": None,
        "known": [{"name": "a"}],
    }) == [("purpose", "batch"), ("expires_after[anchor]", "created_at"),
           ("expires_after[seconds]", "3600"), ("include[]", "logprobs"), ("stream", "false"),
           ("temperature", "0.5"), ("known[][name]", "a")]
    with pytest.raises(BadRequestError, match="temperature cannot be sent"):
        form_fields({"temperature": float("nan")})


def test_the_length_is_unknown_while_a_file_size_is() -> None:
    form = MultipartForm(fields=[("purpose", "user_data")],
                         files=[FilePart("file", "a.pdf", lambda: [b"%PDF"])])
    assert form.length is None
    assert not isinstance(form.body(), SizedBody)
    assert parse_form(form.content_type, b"".join(form.body())).file("file").data == b"%PDF"


def test_every_body_opens_its_files_anew() -> None:
    source = CountingSource(3 * CHUNK + 5)
    form = MultipartForm(files=[FilePart("file", "a.wav", source, "audio/wav", source.size)])
    first, second = b"".join(form.body()), b"".join(form.body())
    assert first == second
    assert source.opens == 2


@pytest.mark.parametrize(("declared", "delivered", "says"), [
    (10, 11, "larger than the 10 bytes it declared"),
    (10, 9, "ended after 9 of the 10 bytes it declared"),
])
def test_a_source_that_breaks_its_declared_size_stops_the_body(
        declared: int, delivered: int, says: str) -> None:
    form = MultipartForm(files=[FilePart("file", "a.mp3", lambda: [b"x" * delivered],
                                         "audio/mpeg", declared)])
    with pytest.raises(SourceSizeError, match=says) as caught:
        b"".join(form.body())
    assert isinstance(caught.value, UserError)


def test_the_body_holds_one_chunk_of_a_file_at_a_time() -> None:
    source = CountingSource(8 * 1024 * 1024)
    form = MultipartForm(fields=[("model", "whisper-1")],
                         files=[FilePart("file", "big.mp3", source, "audio/mpeg", source.size)])
    largest = max(len(chunk) for chunk in form.body())
    assert largest == CHUNK  # never more than the source's own piece


class _Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[tuple[dict[str, str], bytes]]

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.seen.append((dict(self.headers.items()), read_body(self.rfile, self.headers)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    seen: list[tuple[dict[str, str], bytes]] = []
    handler = type("Handler", (_Recorder,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/upload", seen
    server.shutdown()
    server.server_close()


def test_requests_sends_a_sized_body_with_content_length(recorder: tuple) -> None:
    url, seen = recorder
    source = CountingSource(2 * CHUNK + 1)
    form = MultipartForm(fields=[("purpose", "user_data")],
                         files=[FilePart("file", "a.bin", source, size=source.size)])
    requests.post(url, data=form.body(), headers={"Content-Type": form.content_type},
                  timeout=10).raise_for_status()
    headers, body = seen[0]
    assert headers["Content-Length"] == str(form.length)
    assert "Transfer-Encoding" not in headers
    assert len(parse_form(headers["Content-Type"], body).file("file").data) == source.size


def test_requests_sends_a_body_of_unknown_length_chunked(recorder: tuple) -> None:
    url, seen = recorder
    source = CountingSource(2 * CHUNK + 1)
    form = MultipartForm(files=[FilePart("file", "a.bin", source)])
    requests.post(url, data=form.body(), headers={"Content-Type": form.content_type},
                  timeout=10).raise_for_status()
    headers, body = seen[0]
    assert headers["Transfer-Encoding"] == "chunked"
    assert "Content-Length" not in headers
    assert len(parse_form(headers["Content-Type"], body).file("file").data) == source.size
