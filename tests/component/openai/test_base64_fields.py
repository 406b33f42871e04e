"""Base64 fields decoded into sinks as an answer streams in: exact bytes whatever the
chunking, the rest of the answer intact, hostile answers refused, memory bounded."""

from __future__ import annotations

import base64
import io
import json
import os
from dataclasses import replace

import pytest

from lib.openai.base64_fields import (
    Base64Fields,
    FieldLimits,
    MalformedAnswerError,
    decode_fields,
)
from lib.openai.errors import AnswerTooLargeError

LIMITS = FieldLimits(max_fields=10, max_field_bytes=1 << 20, max_rest_bytes=1 << 16)
IMAGES = [b"", b"a", b"ab", b"abc", os.urandom(1000), os.urandom(3001)]


class Sinks:
    def __init__(self) -> None:
        self.opened: list[io.BytesIO] = []
        self.largest_write = 0

    def open(self, number: int) -> Sinks:
        assert number == len(self.opened)
        self.opened.append(io.BytesIO())
        return self

    def write(self, data: bytes) -> None:
        self.largest_write = max(self.largest_write, len(data))
        self.opened[-1].write(data)

    def contents(self) -> list[bytes]:
        return [sink.getvalue() for sink in self.opened]


def _answer(images: list[bytes], **extra: object) -> dict:
    return {"created": 1, "data": [{"b64_json": base64.b64encode(image).decode(),
                                    "revised_prompt": 'say "b64_json": "QUFB" \\ done'}
                                   for image in images], **extra}


def _chunks(raw: bytes, size: int) -> list[bytes]:
    return [raw[i:i + size] for i in range(0, len(raw), size)]


def _decode(raw: bytes, size: int = 7, limits: FieldLimits = LIMITS) -> tuple[object, Sinks]:
    sinks = Sinks()
    answer, sizes = decode_fields(_chunks(raw, size), "b64_json", sinks.open, limits)
    assert sizes == [len(content) for content in sinks.contents()]
    return answer, sinks


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 13, 64, 100_000])
def test_every_field_is_decoded_exactly_whatever_the_chunks(size: int) -> None:
    document = _answer(IMAGES, usage={"b64_json": None, "total_tokens": 3})
    raw = json.dumps(document).encode()
    answer, sinks = _decode(raw, size)
    assert sinks.contents() == IMAGES
    expected = json.loads(raw)
    for number, image in enumerate(expected["data"]):
        image["b64_json"] = number
    assert answer == expected


def test_escaped_slashes_and_line_breaks_are_taken() -> None:
    image = os.urandom(3000)
    encoded = base64.encodebytes(image).decode()  # a line break every 76 characters
    raw = json.dumps({"data": [{"b64_json": encoded}]}).replace("/", "\\/").encode()
    assert "\\n" in raw.decode()
    assert "\\/" in raw.decode()
    for size in (1, 2, 77):
        assert _decode(raw, size)[1].contents() == [image]


@pytest.mark.parametrize("raw", [
    b'{"b64_json" : "YWJj"}', b'{"b64_json"\n:\t"YWJj"}', b'{"x": 1, "b64_json":"YWJj"}'])
def test_a_key_is_told_with_any_whitespace_around_its_colon(raw: bytes) -> None:
    answer, sinks = _decode(raw, 1)
    assert sinks.contents() == [b"abc"]
    assert answer["b64_json"] == 0


@pytest.mark.parametrize("raw", [
    b'{"b64_json": null, "x": "YWJj"}',
    b'{"note": "b64_json", "x": "YWJj"}',
    b'["b64_json", "YWJj"]',
    b'{"zz\\"b64_json": "YWJj"}',
    b'{"b64_json\\"": "YWJj"}',
    b'{"b64_json": 5, "y": ["YWJj"]}',
])
def test_strings_that_are_not_the_fields_value_are_kept_as_they_are(raw: bytes) -> None:
    answer, sinks = _decode(raw, 3)
    assert sinks.contents() == []
    assert answer == json.loads(raw)


@pytest.mark.parametrize(("value", "problem"), [
    ("YWJ", "its length is not a multiple of 4"),
    ("YW=j", "not base64"),
    ("YQ==YQ==", "not base64"),
    ("YW Jj", "not base64"),
    ("YWJj\\u0041AAA", "an escaped character"),
    ('YWJj\\"', "an escaped character"),
])
def test_a_value_that_is_not_plain_base64_is_a_malformed_answer(value: str,
                                                                problem: str) -> None:
    raw = b'{"data": [{"b64_json": "' + value.encode() + b'"}]}'
    with pytest.raises(MalformedAnswerError, match=problem):
        _decode(raw, 2)


@pytest.mark.parametrize("raw", [b'{"data": [{"b64_json": "YWJj', b'{"x": "abc', b"<html>",
                                 b'{"x": 1', b""])
def test_an_answer_cut_short_or_not_json_is_malformed(raw: bytes) -> None:
    with pytest.raises(MalformedAnswerError):
        _decode(raw)


def test_more_fields_than_asked_for_are_refused_before_the_next_sink_opens() -> None:
    raw = json.dumps(_answer([b"a", b"b", b"c"])).encode()
    sinks = Sinks()
    with pytest.raises(MalformedAnswerError, match="more than the 2 b64_json values asked"):
        decode_fields(_chunks(raw, 5), "b64_json", sinks.open,
                      FieldLimits(max_fields=2, max_field_bytes=10, max_rest_bytes=1000))
    assert len(sinks.opened) == 2


def test_a_field_over_its_cap_stops_within_a_chunk_of_the_cap() -> None:
    raw = json.dumps(_answer([os.urandom(10_000)])).encode()
    sinks = Sinks()
    scanner = Base64Fields("b64_json", sinks.open,
                           FieldLimits(max_fields=1, max_field_bytes=4000, max_rest_bytes=1000))
    chunks = iter(_chunks(raw, 1000))
    with pytest.raises(AnswerTooLargeError, match="larger than 4000 bytes decoded"):
        list(map(scanner.feed, chunks))
    assert len(sinks.contents()[0]) <= 4000


def test_the_rest_of_the_answer_is_capped() -> None:
    raw = json.dumps({"data": [{"revised_prompt": "x" * 5000}]}).encode()
    with pytest.raises(AnswerTooLargeError, match="more than 4096 bytes besides its b64_json"):
        _decode(raw, 100, FieldLimits(max_fields=1, max_field_bytes=1, max_rest_bytes=4096))


def test_the_rest_of_the_answer_is_counted_in_json_values_before_it_is_parsed() -> None:
    tiny_items = json.dumps({"data": [{"b64_json": "YWJj"}], "extra": [{}] * 2000}).encode()
    limits = FieldLimits(max_fields=1, max_field_bytes=100, max_rest_bytes=1 << 16,
                         max_rest_values=1000)
    with pytest.raises(AnswerTooLargeError, match="holds more than 1000 JSON values"):
        _decode(tiny_items, 100, limits)
    assert _decode(tiny_items, 100, replace(limits, max_rest_values=5000))


def test_memory_is_one_chunk_whatever_the_fields_size() -> None:
    image = os.urandom(3 << 20)
    raw = json.dumps(_answer([image, image])).encode()
    sinks = Sinks()
    scanner = Base64Fields("b64_json", sinks.open, replace(LIMITS, max_field_bytes=4 << 20))
    for chunk in _chunks(raw, 64 * 1024):
        scanner.feed(chunk)
    scanner.finish()
    assert sinks.contents() == [image, image]
    assert sinks.largest_write <= 3 * 64 * 1024 // 4 + 3
    assert len(scanner._rest) < 200  # the rest: the answer without its images
