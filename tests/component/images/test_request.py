"""Building the image requests: the generation body, the edit form's fields, and what
they refuse before anything is sent."""

from __future__ import annotations

import pytest

from lib.errors import InputValidationError
from lib.images.request import (
    edit_fields,
    generation_request,
    image_references,
    mask_reference,
    requested_count,
)


def test_a_generation_carries_the_steps_model_and_the_body_as_it_is() -> None:
    body = {"prompt": "A lighthouse", "model": "ignored", "size": "1536x1024", "n": 2,
            "quality": "high", "background": "transparent", "output_format": "webp",
            "output_compression": 80, "moderation": "low", "user": "u-1", "extra": True}
    assert generation_request(body, "gpt-image-1") == {**body, "model": "gpt-image-1"}


@pytest.mark.parametrize("model", ["dall-e-2", "dall-e-3", "DALL-E-3"])
def test_dall_e_is_asked_for_base64_whatever_the_body_says(model: str) -> None:
    body = {"prompt": "A lighthouse", "response_format": "url"}
    assert generation_request(body, model)["response_format"] == "b64_json"


@pytest.mark.parametrize("model", ["stablediffusion", "flux.1-dev"])
def test_another_servers_model_gets_the_bodys_response_format_or_none(model: str) -> None:
    assert "response_format" not in generation_request({"prompt": "x"}, model)
    assert generation_request({"prompt": "x", "response_format": "url"},
                              model)["response_format"] == "url"


def test_a_gpt_image_model_refuses_a_response_format_by_name() -> None:
    with pytest.raises(InputValidationError, match="response_format is not taken by the GPT"):
        generation_request({"prompt": "x", "response_format": "b64_json"}, "gpt-image-1")


@pytest.mark.parametrize(("model", "limit"), [
    ("gpt-image-1", 32_000), ("dall-e-3", 4_000), ("dall-e-2", 1_000)])
def test_a_prompt_over_the_models_limit_is_refused_with_both_numbers(model: str,
                                                                     limit: int) -> None:
    generation_request({"prompt": "a" * limit}, model)
    with pytest.raises(InputValidationError) as caught:
        generation_request({"prompt": "a" * (limit + 1)}, model)
    assert caught.value.problems == [
        f"prompt has {limit + 1:,} characters; {model} takes at most {limit:,}"]


def test_another_servers_model_has_no_prompt_limit_of_ours() -> None:
    assert generation_request({"prompt": "a" * 50_000}, "sdxl")["prompt"] == "a" * 50_000


def test_dall_e_3_makes_one_image_per_request() -> None:
    generation_request({"prompt": "x", "n": 1}, "dall-e-3")
    with pytest.raises(InputValidationError, match="n must be 1 for dall-e-3"):
        generation_request({"prompt": "x", "n": 2}, "dall-e-3")
    assert generation_request({"prompt": "x", "n": 4}, "dall-e-2")["n"] == 4


@pytest.mark.parametrize("field", [{"stream": True}, {"partial_images": 2}])
def test_streaming_is_refused(field: dict) -> None:
    with pytest.raises(InputValidationError, match="is not supported: the images are emitted"):
        generation_request({"prompt": "x", **field}, "gpt-image-1")
    with pytest.raises(InputValidationError, match="is not supported"):
        edit_fields({"prompt": "x", "image": "a.png", **field}, "gpt-image-1")


def test_streaming_turned_off_is_sent_as_it_is() -> None:
    assert generation_request({"prompt": "x", "stream": False, "partial_images": 0},
                              "gpt-image-1")["stream"] is False


def test_the_edit_form_has_every_field_but_the_files_with_the_steps_model() -> None:
    body = {"prompt": "Add a hat", "image": ["a.png", "b.png"], "mask": "m.png",
            "model": "ignored", "n": 2, "size": "1024x1024", "quality": "high",
            "input_fidelity": "high", "output_compression": 90, "background": "auto"}
    assert edit_fields(body, "gpt-image-1") == [
        ("model", "gpt-image-1"), ("prompt", "Add a hat"), ("n", "2"), ("size", "1024x1024"),
        ("quality", "high"), ("input_fidelity", "high"), ("output_compression", "90"),
        ("background", "auto")]


def test_the_dall_e_2_edit_form_asks_for_base64() -> None:
    assert ("response_format", "b64_json") in edit_fields({"prompt": "x"}, "dall-e-2")
    with pytest.raises(InputValidationError, match="1,000"):
        edit_fields({"prompt": "x" * 1001}, "dall-e-2")


def test_the_images_and_the_mask_named_by_the_body() -> None:
    assert image_references({"image": "cat.png"}) == ["cat.png"]
    assert image_references({"image": ["a.png", "https://x.test/b.jpg"]}) == [
        "a.png", "https://x.test/b.jpg"]
    assert image_references({}) == []
    assert mask_reference({"mask": "m.png"}) == "m.png"
    assert mask_reference({}) is None


def test_the_count_asked_for() -> None:
    assert requested_count({}) == 1
    assert requested_count({"n": 3}) == 3
    assert requested_count({"n": True}) == 1
