"""The images made: their types and names, and the outgoing body."""

from __future__ import annotations

import pytest

from lib.images.output import answer_images, generated_name, generated_type, images_output
from lib.openai.errors import OpenAIError
from tests.support.image_files import image_bytes


@pytest.mark.parametrize(("head", "formats", "kind"), [
    (image_bytes("png", (1, 1), "s")[:24], ("jpeg",), "image/png"),
    (image_bytes("jpeg", (1, 1), "s")[:24], (None,), "image/jpeg"),
    (image_bytes("webp", (1, 1), "s")[:24], (), "image/webp"),
    (b"GIF89a", (), "image/gif"),
    (b"\x00\x01", (None, "webp"), "image/webp"),
    (b"\x00\x01", ("JPEG", "webp"), "image/jpeg"),
    (b"\x00\x01", ("bmp",), "image/png"),
    (b"%PDF-1.7", (), "image/png"),  # not an image by its bytes: the format decides
])
def test_the_type_of_an_image_made(head: bytes, formats: tuple, kind: str) -> None:
    assert generated_type(head, *formats) == kind


def test_images_are_numbered_from_one_with_their_types_extension() -> None:
    assert generated_name(0, "image/png") == "image-1.png"
    assert generated_name(1, "image/jpeg") == "image-2.jpg"
    assert generated_name(9, "image/webp") == "image-10.webp"
    assert generated_name(0, "image/gif") == "image-1.gif"


def test_the_body_holds_the_attachments_never_the_images_or_their_links() -> None:
    answer = {"created": 1, "data": [{"b64_json": 0, "revised_prompt": "A red fox"},
                                     {"url": "https://cdn.test/x.png?sig=secret", "seed": 7}],
              "usage": {"input_tokens": 1, "output_tokens": 2, "total_tokens": 3},
              "output_format": "png"}
    attachments = [{"name": "image-1.png", "size": 10, "content_type": "image/png"},
                   {"name": "image-2.png", "size": 20, "content_type": "image/png"}]
    assert images_output(answer, attachments) == {
        "created": 1, "usage": answer["usage"], "output_format": "png",
        "data": [{"attachment": attachments[0], "revised_prompt": "A red fox"},
                 {"attachment": attachments[1], "revised_prompt": None, "seed": 7}]}


@pytest.mark.parametrize("answer", [{}, {"data": []}, {"data": None}, {"data": ["x"]}, []])
def test_an_answer_without_images_is_the_servers_error(answer: object) -> None:
    with pytest.raises(OpenAIError, match="holds no images"):
        answer_images(answer)
