"""The image actions' schemas: the platform's dialect, inputs the API takes, and outputs
that hold what OpenAI and other servers send."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from lib.errors import InputValidationError
from lib.images.output import images_output
from lib.images.request import edit_fields, generation_request
from lib.validation import load_schema, to_json_schema, validate_input
from tests.support.multipart_form import Form
from tests.support.openapi_contract import validate
from tests.support.schema_dialect import dialect_problems

SCHEMAS = ["generateImage.in.json", "generateImage.out.json", "editImage.in.json",
           "editImage.out.json"]
FORM_NUMBERS = frozenset({"n", "output_compression"})
ATTACHMENT = {"name": "image-1.png", "size": 1234, "content_type": "image/png"}


@pytest.mark.parametrize("name", SCHEMAS)
def test_the_schema_is_in_the_platforms_dialect(name: str) -> None:
    assert dialect_problems(load_schema(name), output=name.endswith(".out.json")) == []


@pytest.mark.parametrize(("body", "model"), [
    ({"prompt": "A lighthouse at dusk"}, "gpt-image-1"),
    ({"prompt": "A fox", "n": 3, "size": "1536x1024", "quality": "high",
      "background": "transparent", "output_format": "webp", "output_compression": 70,
      "moderation": "low", "user": "u-42"}, "gpt-image-1.5"),
    ({"prompt": "A fox", "size": "2048x1152"}, "gpt-image-2"),
    ({"prompt": "A fox", "size": "1792x1024", "quality": "hd", "style": "natural"},
     "dall-e-3"),
    ({"prompt": "A fox", "n": 2, "size": "256x256"}, "dall-e-2"),
    ({"prompt": "A fox", "response_format": "url"}, "stablediffusion"),
])
def test_valid_generation_inputs_make_bodies_the_api_takes(body: dict, model: str) -> None:
    validate_input(body, "generateImage.in.json")
    validate("CreateImageRequest", generation_request(body, model))


@pytest.mark.parametrize(("body", "model", "images"), [
    ({"prompt": "Add a hat", "image": "cat.png"}, "gpt-image-1", 1),
    ({"prompt": "Combine them", "image": ["a.png", "https://x.test/b.jpg"], "n": 2,
      "size": "1024x1536", "quality": "low", "input_fidelity": "high",
      "background": "opaque", "output_format": "jpeg", "output_compression": 50,
      "user": "u-1"}, "gpt-image-1.5", 2),
    ({"prompt": "Fill the sky", "image": "sky.png", "mask": "mask.png", "size": "512x512"},
     "dall-e-2", 1),
    ({"prompt": "Edit"}, "gpt-image-1", 1),  # the single image attachment
])
def test_valid_edit_inputs_make_forms_the_api_takes(body: dict, model: str,
                                                     images: int) -> None:
    validate_input(body, "editImage.in.json")
    form = Form(texts=edit_fields(body, model))
    request = form.as_request(numbers=FORM_NUMBERS)
    request["image"] = "(binary)" if images == 1 else ["(binary)"] * images
    if "mask" in body:
        request["mask"] = "(binary)"
    validate("CreateImageEditRequest", request)


@pytest.mark.parametrize(("schema", "body", "problem"), [
    ("generateImage.in.json", {}, "prompt is required"),
    ("generateImage.in.json", {"prompt": ""}, "prompt"),
    ("generateImage.in.json", {"prompt": "x", "n": 11}, "n must be at most 10"),
    ("generateImage.in.json", {"prompt": "x", "size": "big"}, "size"),
    ("generateImage.in.json", {"prompt": "x", "output_format": "gif"},
     "output_format must be one of png, jpeg, webp"),
    ("generateImage.in.json", {"prompt": "x", "output_compression": 101},
     "output_compression must be at most 100"),
    ("editImage.in.json", {"prompt": "x", "image": []}, "image"),
    ("editImage.in.json", {"prompt": "x", "image": [f"{i}.png" for i in range(17)]}, "image"),
    ("editImage.in.json", {"prompt": "x", "image": 3}, "image"),
    ("editImage.in.json", {"prompt": "x", "mask": ["a.png"]}, "mask"),
    ("editImage.in.json", {"prompt": "x", "input_fidelity": "medium"}, "input_fidelity"),
])
def test_invalid_inputs_are_named(schema: str, body: dict, problem: str) -> None:
    with pytest.raises(InputValidationError, match=problem):
        validate_input(body, schema)


@pytest.mark.parametrize("name", ["generateImage.out.json", "editImage.out.json"])
@pytest.mark.parametrize("answer", [
    {"created": 1713833628, "data": [{"b64_json": 0}], "background": "transparent",
     "output_format": "png", "size": "1024x1024", "quality": "high",
     "usage": {"total_tokens": 100, "input_tokens": 50, "output_tokens": 50,
               "input_tokens_details": {"text_tokens": 10, "image_tokens": 40},
               "output_tokens_details": {"image_tokens": 50, "text_tokens": 0}}},
    {"created": 1713833628, "data": [{"b64_json": 0, "revised_prompt": "A fox, at dusk"}]},
    {"created": None, "data": [{"url": "https://x.test/a.png", "revised_prompt": None}],
     "usage": None, "size": "1536x864", "quality": None},
    {"data": [{"b64_json": 0}], "usage": {"total_tokens": 3}},
])
def test_what_servers_send_passes_the_output_schema(name: str, answer: dict) -> None:
    checker = Draft202012Validator(to_json_schema(load_schema(name)))
    output = images_output(answer, [ATTACHMENT])
    assert list(checker.iter_errors(output)) == []
