"""Which files Edit Image sends: the limits of each model family, the declared checks
before sending, and the check of the first bytes while sending."""

from __future__ import annotations

import struct

import pytest

from lib.errors import AttachmentError, InputValidationError
from lib.images.attachments import (
    DALL_E_2_EDITS,
    GPT_IMAGE_EDITS,
    MASK_LIMITS,
    check_count,
    checked_image,
    declared_type,
    edit_limits,
    image_file_name,
    image_files,
    is_image,
)
from lib.openai.limits import MIB
from tests.support.image_files import image_bytes, png_bytes

PNG = png_bytes(4, 4, b"\x10\x20\x30")
WIDE_PNG = png_bytes(8, 4, b"\x10\x20\x30")


def test_dall_e_2_has_its_own_limits_every_other_model_the_gpt_image_ones() -> None:
    assert edit_limits("dall-e-2") is DALL_E_2_EDITS
    for model in ("gpt-image-1", "gpt-image-1.5", "chatgpt-image-latest", "sdxl"):
        assert edit_limits(model) is GPT_IMAGE_EDITS
    assert (GPT_IMAGE_EDITS.max_images, GPT_IMAGE_EDITS.max_image_bytes) == (16, 50 * MIB)
    assert (DALL_E_2_EDITS.max_images, DALL_E_2_EDITS.max_image_bytes) == (1, 4 * MIB)


@pytest.mark.parametrize(("name", "media_type", "kind"), [
    ("cat.png", None, "image/png"),
    ("cat.PNG", "application/octet-stream", "image/png"),
    ("photo.jpg", None, "image/jpeg"),
    ("photo", "image/jpg", "image/jpeg"),
    ("photo.jpeg", "image/jpeg; charset=binary", "image/jpeg"),
    ("x.webp", None, "image/webp"),
    ("upload", "image/webp", "image/webp"),
    ("cat.gif", None, None),
    ("png", None, None),
    (".png", None, None),
])
def test_the_type_a_file_declares(name: str, media_type: str | None, kind: str | None) -> None:
    assert declared_type(name, media_type) == kind
    assert is_image(name, media_type) is (kind is not None)


def test_no_image_or_too_many_are_refused_before_sending() -> None:
    check_count(16, GPT_IMAGE_EDITS)
    with pytest.raises(InputValidationError, match="image is required"):
        check_count(0, GPT_IMAGE_EDITS)
    with pytest.raises(InputValidationError, match="names 17 images; the model takes at most 16"):
        check_count(17, GPT_IMAGE_EDITS)
    with pytest.raises(InputValidationError, match="names 2 images; the model takes at most 1"):
        check_count(2, DALL_E_2_EDITS)


def test_the_file_input_of_each_limit_takes_its_types_and_size() -> None:
    gpt, dall_e_2, mask = (image_files(GPT_IMAGE_EDITS), image_files(DALL_E_2_EDITS),
                           image_files(MASK_LIMITS))
    assert (gpt.limit, dall_e_2.limit, mask.limit) == (50 * MIB, 4 * MIB, 4 * MIB)
    assert (gpt.formats, dall_e_2.formats, mask.formats) == ("png, webp or jpg", "png", "png")
    assert [gpt.fits(*f) for f in (("a.png", None), ("a", "image/webp"), ("a.jpg", None),
                                   ("a.gif", None), ("a", "application/octet-stream"))] == [
        True, True, True, False, False]
    assert [dall_e_2.fits(*f) for f in (("a.png", None), ("a", "image/jpeg"))] == [
        True, False]


@pytest.mark.parametrize(("name", "media_type", "sent"), [
    ("cat.png", "image/png", "cat.png"),
    ("dir/sub/cat.png", "image/png", "cat.png"),
    ("c:\\photos\\cat.jpeg", "image/jpeg", "cat.jpeg"),
    ("download?id=3", "image/png", "image-2.png"),
    ("cat.png", "image/jpeg", "image-2.jpg"),
])
def test_the_file_name_sent_tells_the_type(name: str, media_type: str, sent: str) -> None:
    assert image_file_name(name, media_type, 1) == sent


def _chunked(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize("chunk_size", [1, 5, 24, 1000])
def test_the_bytes_pass_unchanged_when_their_head_shows_an_allowed_image(
        chunk_size: int) -> None:
    for data, limits in ((PNG, DALL_E_2_EDITS), (image_bytes("webp", (1, 1), "s"),
                                                 GPT_IMAGE_EDITS),
                         (image_bytes("jpeg", (1, 1), "s"), GPT_IMAGE_EDITS)):
        assert b"".join(checked_image(_chunked(data, chunk_size), "image", limits)) == data


def test_a_file_that_is_not_an_allowed_image_stops_before_its_end() -> None:
    sent: list[bytes] = []
    chunks = iter(_chunked(b"GIF89a" + b"\x00" * 100, 10))
    with pytest.raises(AttachmentError, match=r"^image\[2\] \(a.png\): the file is a gif file "
                                              "by its content; the model takes png, webp or "
                                              "jpg images$"):
        sent.extend(checked_image(chunks, "image[2] (a.png)", GPT_IMAGE_EDITS))
    assert sent == []
    assert len(list(chunks)) == 8  # nothing read past the head


def test_a_jpeg_for_a_png_only_model_and_text_are_refused() -> None:
    with pytest.raises(AttachmentError, match="the file is a jpeg file by its content"):
        list(checked_image([image_bytes("jpeg", (1, 1), "s")], "mask", MASK_LIMITS))
    with pytest.raises(AttachmentError, match="the file is not an image by its content"):
        list(checked_image([b"<html>hello</html>"], "image", GPT_IMAGE_EDITS))
    with pytest.raises(AttachmentError, match="not an image"):
        list(checked_image([], "image", GPT_IMAGE_EDITS))


def test_dall_e_2_takes_square_pngs_only() -> None:
    with pytest.raises(AttachmentError, match=r"^image \(w.png\): 8x4 pixels; the model takes "
                                              "square images only$"):
        list(checked_image([WIDE_PNG], "image (w.png)", DALL_E_2_EDITS))
    assert b"".join(checked_image([WIDE_PNG], "image", GPT_IMAGE_EDITS)) == WIDE_PNG
    assert struct.unpack(">II", PNG[16:24]) == (4, 4)
