"""Moderate's request: the input's shapes checked, image parts found and filled in."""

from __future__ import annotations

import pytest

from lib.errors import InputValidationError
from lib.moderations.request import (
    ImageSlot,
    build_moderation_request,
    image_slots,
    input_problems,
    with_images,
)

MODEL = "omni-moderation-latest"


@pytest.mark.parametrize("value", ["a text", ["one", "two"],
                                   [{"type": "text", "text": "caption"},
                                    {"type": "image_url", "image_url": {"url": "x.png"}}]])
def test_the_shapes_the_api_takes_pass(value) -> None:
    assert input_problems(value) == []


def test_a_list_of_texts_and_parts_is_refused_naming_both() -> None:
    assert input_problems(["a", {"type": "text", "text": "b"}]) == [
        "input mixes texts (input[0]) and parts (input[1]): a list holds either texts or parts"]


def test_a_text_part_without_text_and_an_image_that_is_no_object_are_named() -> None:
    value = [{"type": "text"}, {"type": "image_url", "image_url": "x.png"}]
    assert input_problems(value) == ["input[0].text is required in a text part",
                                     "input[1].image_url must be an object with a url"]


def test_the_request_takes_the_steps_model_and_keeps_the_other_fields() -> None:
    body = {"input": "hi", "model": "text-moderation-latest", "extra": 1}
    assert build_moderation_request(body, MODEL) == {"model": MODEL, "input": "hi", "extra": 1}
    with pytest.raises(InputValidationError, match=r"input mixes texts"):
        build_moderation_request({"input": ["a", {"type": "text", "text": "b"}]}, MODEL)


def test_image_parts_are_found_with_what_they_name() -> None:
    value = [{"type": "text", "text": "t"},
             {"type": "image_url", "image_url": {"url": " photo.png "}},
             {"type": "image_url", "image_url": {"url": ""}},
             {"type": "image_url"}]
    assert image_slots(value) == [ImageSlot(1, "photo.png"), ImageSlot(2, None),
                                  ImageSlot(3, None)]
    assert image_slots("text") == []
    assert ImageSlot(3, None).place == "input[3].image_url.url"


def test_images_are_filled_in_without_changing_the_body() -> None:
    body = {"input": [{"type": "text", "text": "t"},
                      {"type": "image_url", "image_url": {"url": "photo.png"}},
                      {"type": "image_url"}]}
    request = build_moderation_request(body, MODEL)
    filled = with_images(request, {1: "data:image/png;base64,AAAA", 2: "https://x/y.png"})
    assert filled["input"] == [{"type": "text", "text": "t"},
                               {"type": "image_url", "image_url": {
                                   "url": "data:image/png;base64,AAAA"}},
                               {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]
    assert body["input"][1]["image_url"]["url"] == "photo.png"
    assert request["input"][1]["image_url"]["url"] == "photo.png"
