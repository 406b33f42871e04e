"""Building the audio requests: the transcription form, the speech body, their refusals."""

from __future__ import annotations

import pytest

from lib.audio.attachments import audio_file_name, is_audio
from lib.audio.output import speech_output, transcription_output
from lib.audio.request import (
    answers_in_text,
    speech_format,
    speech_request,
    transcription_fields,
)
from lib.errors import InputValidationError, UserError
from lib.openai.errors import OpenAIError


def test_the_form_carries_the_steps_model_and_every_field_but_the_file() -> None:
    body = {"file": "call.mp3", "model": "ignored", "language": "de", "temperature": 0,
            "timestamp_granularities": ["word", "segment"], "response_format": "verbose_json",
            "chunking_strategy": {"type": "server_vad", "threshold": 0.5}}
    assert transcription_fields(body, "whisper-1", translate=False) == [
        ("model", "whisper-1"), ("language", "de"), ("temperature", "0"),
        ("timestamp_granularities[]", "word"), ("timestamp_granularities[]", "segment"),
        ("response_format", "verbose_json"), ("chunking_strategy[type]", "server_vad"),
        ("chunking_strategy[threshold]", "0.5")]


def test_translating_refuses_each_field_of_transcriptions_only_by_name() -> None:
    body = {"language": "de", "timestamp_granularities": ["word"],
            "response_format": "diarized_json", "prompt": "Hello"}
    with pytest.raises(InputValidationError) as caught:
        transcription_fields(body, "whisper-1", translate=True)
    assert caught.value.problems == [
        ("language is not used when translating to English: remove it, or turn off "
        "'Translate to English'"),
        ("timestamp_granularities is not used when translating to English: remove it, or "
        "turn off 'Translate to English'"),
        ("response_format diarized_json is not available when translating: use json, text, "
        "srt, vtt or verbose_json")]


def test_translating_sends_prompt_format_and_temperature() -> None:
    body = {"prompt": "Hello", "response_format": "srt", "temperature": 0.2}
    assert transcription_fields(body, "whisper-1", translate=True) == [
        ("model", "whisper-1"), ("prompt", "Hello"), ("response_format", "srt"),
        ("temperature", "0.2")]


def test_streaming_a_transcript_is_refused() -> None:
    with pytest.raises(InputValidationError, match="stream is not supported"):
        transcription_fields({"stream": True}, "gpt-4o-transcribe", translate=False)
    assert transcription_fields({"stream": False}, "m", translate=False) == [("model", "m")]


@pytest.mark.parametrize(("response_format", "text"), [
    ("text", True), ("srt", True), ("vtt", True), ("json", False), ("verbose_json", False),
    (None, False)])
def test_text_srt_and_vtt_answer_in_plain_text(response_format: str | None,
                                               text: bool) -> None:
    assert answers_in_text({"response_format": response_format}) is text


def test_a_plain_text_answer_becomes_the_text_field() -> None:
    assert transcription_output("1\n00:00:00,000 --> 00:00:01,000\nHi\n") == {
        "text": "1\n00:00:00,000 --> 00:00:01,000\nHi\n"}
    answer = {"text": "Hi", "usage": {"type": "duration", "seconds": 1}}
    assert transcription_output(answer) is answer


def test_a_json_answer_without_text_is_the_servers_fault() -> None:
    with pytest.raises(OpenAIError, match="has no text") as caught:
        transcription_output({"segments": []})
    assert not isinstance(caught.value, UserError)


@pytest.mark.parametrize(("name", "media_type", "audio"), [
    ("call.MP3", None, True), ("call", "audio/mpeg", True), ("video.webm", None, True),
    ("notes.txt", "text/plain", False), ("mp3", None, False), ("x", "audio/x-wav", True)])
def test_audio_is_told_by_extension_or_media_type(name: str, media_type: str | None,
                                                  audio: bool) -> None:
    assert is_audio(name, media_type) is audio


@pytest.mark.parametrize(("name", "media_type", "sent"), [
    ("call.m4a", "audio/mpeg", "call.m4a"), ("recording", "audio/wav", "recording.wav"),
    ("", "audio/ogg", "audio.ogg"), ("blob.bin", None, "blob.bin")])
def test_the_file_name_sent_tells_the_format(name: str, media_type: str | None,
                                             sent: str) -> None:
    assert audio_file_name(name, media_type) == sent


def test_the_speech_body_is_the_message_with_the_steps_model() -> None:
    body = {"input": "Hello", "voice": "alloy", "response_format": "wav", "model": "x"}
    assert speech_request(body, "gpt-4o-mini-tts") == {
        "input": "Hello", "voice": "alloy", "response_format": "wav",
        "model": "gpt-4o-mini-tts"}


def test_a_streamed_speech_format_is_refused() -> None:
    with pytest.raises(InputValidationError, match="stream_format must be audio"):
        speech_request({"input": "Hi", "voice": "alloy", "stream_format": "sse"}, "tts-1")


@pytest.mark.parametrize(("asked", "format_"), [
    (None, "mp3"), ("opus", "opus"), ("pcm", "pcm"), ("flac", "flac")])
def test_the_speech_format_defaults_to_mp3(asked: str | None, format_: str) -> None:
    assert speech_format({"response_format": asked}) == format_


def test_the_speech_output_names_the_attachment_never_the_audio() -> None:
    request = {"input": "Hello there", "voice": "coral", "model": "gpt-4o-mini-tts"}
    attachment = {"name": "speech.mp3", "size": 3000, "content_type": "audio/mpeg"}
    assert speech_output(request, "mp3", attachment) == {
        "attachment": attachment, "format": "mp3", "model": "gpt-4o-mini-tts",
        "voice": "coral", "characters": 11}
