"""The client with files: multipart forms out, files and plain text in, against the stand-in
on 127.0.0.1 (every form checked against the official OpenAPI document)."""

from __future__ import annotations

import threading
import tracemalloc
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lib.openai.audio import create_speech, transcribe
from lib.openai.client import OpenAIClient
from lib.openai.errors import AnswerTooLargeError, NotFoundError, OpenAIError
from lib.openai.limits import CallLimits
from lib.openai.multipart import FilePart, MultipartForm
from lib.openai.retry import RetryPolicy
from tests.support.openai_audio_routes import heard_text, speech_bytes
from tests.support.openai_replies import Reply
from tests.support.openai_standin import OpenAIStandIn
from tests.support.openapi_contract import validate

API_KEY = "sk-test-files-SECRET"
CHUNK = 64 * 1024


class Source:
    """`size` bytes in 64 KiB pieces, made on the fly; counts its opens."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.opens = 0

    def __call__(self) -> Iterator[bytes]:
        self.opens += 1
        for start in range(0, self.size, CHUNK):
            yield b"\x01" * min(CHUNK, self.size - start)


@pytest.fixture
def standin() -> Iterator[OpenAIStandIn]:
    with OpenAIStandIn(api_key=API_KEY, validator=validate) as server:
        yield server
        assert server.violations == []


def client_for(url: str, **kwargs: object) -> OpenAIClient:
    policy = RetryPolicy(sleep=lambda _s: None, random=lambda: 0.0)
    return OpenAIClient(API_KEY, base_url=url, retry_policy=policy, **kwargs)  # type: ignore[arg-type]


def audio_form(source: Source, *fields: tuple[str, str]) -> MultipartForm:
    return MultipartForm(fields=[("model", "whisper-1"), *fields],
                         files=[FilePart("file", "call.mp3", source, "audio/mpeg", source.size)])


def test_a_form_reaches_the_server_whole_and_its_json_answer_comes_back(
        standin: OpenAIStandIn) -> None:
    source = Source(3 * CHUNK + 7)
    answer = transcribe(client_for(standin.url), audio_form(source, ("language", "de")),
                        translate=False, text_answer=False, timeout_s=10)
    assert answer["text"] == heard_text("call.mp3", source.size)
    [form] = standin.audio.forms
    assert form.text("language") == "de"
    assert len(form.file("file").data) == source.size


def test_a_plain_text_answer_comes_back_as_text(standin: OpenAIStandIn) -> None:
    answer = transcribe(client_for(standin.url), audio_form(Source(10), ("response_format", "srt")),
                        translate=True, text_answer=True, timeout_s=10)
    assert answer == ("1\n00:00:00,000 --> 00:00:01,500\nIn English: "
                      f"{heard_text('call.mp3', 10)}\n\n")


def test_a_retried_form_sends_the_file_again_from_its_source(standin: OpenAIStandIn) -> None:
    standin.script(Reply(500, {"error": {"message": "boom", "type": "server_error"}}))
    source = Source(2 * CHUNK)
    transcribe(client_for(standin.url), audio_form(source), translate=False, text_answer=False,
               timeout_s=10)
    assert source.opens == 2
    assert [r.path for r in standin.requests] == ["/v1/audio/transcriptions"] * 2


class _Sink(BaseHTTPRequestHandler):
    """Reads a body in small pieces, keeps only its size, answers a transcription."""

    protocol_version = "HTTP/1.1"
    sizes: list[int]

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        left = int(self.headers["Content-Length"])
        self.sizes.append(left)
        while left:
            left -= len(self.rfile.read(min(left, CHUNK)))
        payload = b'{"text": "ok"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def test_a_large_upload_is_never_held_whole() -> None:
    sizes: list[int] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Sink", (_Sink,), {"sizes": sizes}))
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    source = Source(32 * 1024 * 1024)
    client = client_for(f"http://127.0.0.1:{server.server_address[1]}/v1")
    try:
        tracemalloc.start()
        transcribe(client, audio_form(source), translate=False, text_answer=False, timeout_s=30)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        server.shutdown()
        server.server_close()
    assert sizes[0] > source.size
    assert peak < 2 * 1024 * 1024  # a few chunks, not the 32 MiB file


def test_speech_audio_is_read_as_it_arrives(standin: OpenAIStandIn) -> None:
    body = {"model": "gpt-4o-mini-tts", "input": "Hello there", "voice": "alloy",
            "response_format": "wav"}
    with create_speech(client_for(standin.url), body, timeout_s=10) as audio:
        received = b"".join(audio.chunks)
        assert audio.media_type == "audio/wav"
        assert audio.request_id
    assert received == speech_bytes("Hello there", "wav")


def test_an_audio_answer_over_the_cap_stops_the_read(standin: OpenAIStandIn) -> None:
    body = {"model": "tts-1", "input": "Hello there", "voice": "alloy"}
    client = client_for(standin.url, limits=CallLimits(max_answer_bytes=500))
    with create_speech(client, body, timeout_s=10) as audio, \
            pytest.raises(AnswerTooLargeError, match="larger than 500 bytes"):
        for _chunk in audio.chunks:
            pass


def test_a_json_answer_where_a_file_was_expected_is_the_servers_fault(
        standin: OpenAIStandIn) -> None:
    standin.script(Reply(json={"status": "ok"}))
    body = {"model": "tts-1", "input": "Hi", "voice": "alloy"}
    with pytest.raises(OpenAIError, match="answered JSON instead of a file"):
        create_speech(client_for(standin.url), body, timeout_s=10)


def test_a_server_without_the_endpoint_is_named_in_the_error() -> None:
    with OpenAIStandIn(api_key=API_KEY) as chat_only:
        chat_only.audio.handles = lambda _method, _path: False  # type: ignore[method-assign]
        with pytest.raises(NotFoundError) as caught:
            transcribe(client_for(chat_only.url), audio_form(Source(10)), translate=False,
                       text_answer=False, timeout_s=10)
    assert str(caught.value).startswith(
        "The server has no POST /audio/transcriptions endpoint (Unknown path "
        "/v1/audio/transcriptions)")
    assert API_KEY not in str(caught.value)
