"""The stand-in's image answers match the official OpenAPI document, and the output
schema holds what the actions make of them: what the action and e2e tests see is what the
API sends."""

from __future__ import annotations

import base64
import io
import json

import pytest
from jsonschema import Draft202012Validator
from urllib3 import encode_multipart_formdata

from lib.images.output import images_output
from lib.openai.base64_fields import FieldLimits, decode_fields
from lib.validation import load_schema, to_json_schema
from tests.support.image_files import image_bytes, kind_of, png_bytes, png_size
from tests.support.openai_images_routes import ImagesRoutes
from tests.support.openapi_contract import validate

HOST = {"Host": "127.0.0.1:1"}
LIMITS = FieldLimits(max_fields=10, max_field_bytes=1 << 24, max_rest_bytes=1 << 20)


def generation(routes: ImagesRoutes, body: dict) -> dict:
    reply = routes.answer("POST", "/v1/images/generations", HOST, json.dumps(body).encode())
    assert reply.status == 200, reply.json
    return reply.json


@pytest.mark.parametrize(("body", "kind", "size"), [
    ({"prompt": "A fox", "model": "gpt-image-1"}, "png", (1024, 1024)),
    ({"prompt": "A fox", "model": "gpt-image-1", "n": 3, "size": "1536x1024",
      "output_format": "jpeg"}, "jpeg", None),
    ({"prompt": "A fox", "model": "gpt-image-1.5", "output_format": "webp"}, "webp", None),
    ({"prompt": "A fox", "model": "dall-e-3", "response_format": "b64_json"}, "png",
     (1024, 1024)),
    ({"prompt": "A fox", "model": "dall-e-2", "n": 2, "size": "256x256",
      "response_format": "b64_json"}, "png", (256, 256)),
])
def test_each_generation_answer_is_the_apis_and_makes_a_valid_output(
        body: dict, kind: str, size: tuple[int, int] | None) -> None:
    routes = ImagesRoutes(validate)
    answer = generation(routes, body)
    validate("ImagesResponse", answer)
    images = [base64.b64decode(item["b64_json"]) for item in answer["data"]]
    assert len(images) == body.get("n", 1)
    assert {kind_of(image) for image in images} == {kind}
    if size:
        assert {png_size(image) for image in images} == {size}
    assert ("revised_prompt" in answer["data"][0]) is (body["model"] == "dall-e-3")
    assert routes.violations == []
    for name in ("generateImage.out.json", "editImage.out.json"):
        out = Draft202012Validator(to_json_schema(load_schema(name)))
        output = images_output(_decoded(answer), [
            {"name": f"image-{i + 1}.png", "size": len(image), "content_type": "image/png"}
            for i, image in enumerate(images)])
        assert list(out.iter_errors(output)) == []


def test_a_dall_e_link_answer_is_the_apis_and_its_image_is_served() -> None:
    routes = ImagesRoutes(validate)
    answer = generation(routes, {"prompt": "A fox", "model": "dall-e-2"})
    validate("ImagesResponse", answer)
    url = answer["data"][0]["url"]
    assert url.startswith("http://127.0.0.1:1/v1/images/files/")
    served = routes.linked_file("GET", url.removeprefix("http://127.0.0.1:1"))
    assert served is not None
    assert kind_of(served.data or b"") == "png"
    assert routes.linked_file("POST", "/v1/images/files/x") is None


def test_a_request_the_document_refuses_is_a_violation_answered_400() -> None:
    routes = ImagesRoutes(validate)
    reply = routes.answer("POST", "/v1/images/generations", HOST, b'{"model": "gpt-image-1"}')
    assert reply.status == 400
    assert len(routes.violations) == 1
    assert "prompt" in routes.violations[0]


def _decoded(answer: dict) -> dict:
    raw = json.dumps(answer).encode()
    document, _ = decode_fields([raw], "b64_json", lambda _n: io.BytesIO(), LIMITS)
    return document


def test_an_edit_answer_is_the_apis_and_a_refused_image_gets_the_apis_words() -> None:
    routes = ImagesRoutes(validate)
    fields = [("model", "gpt-image-1"), ("prompt", "Add a hat"), ("n", "2"),
              ("image[]", ("a.png", png_bytes(8, 8, b"\x01\x02\x03"), "image/png")),
              ("image[]", ("b.jpg", image_bytes("jpeg", (1, 1), "b"), "image/jpeg"))]
    body, content_type = encode_multipart_formdata(fields)
    reply = routes.answer("POST", "/v1/images/edits", {"Content-Type": content_type, **HOST},
                          body)
    assert reply.status == 200, reply.json
    validate("ImagesResponse", reply.json)
    assert len(reply.json["data"]) == 2
    gif = [("model", "gpt-image-1"), ("prompt", "x"), ("image", ("a.png", b"GIF89a" + bytes(30),
                                                                  "image/png"))]
    body, content_type = encode_multipart_formdata(gif)
    refused = routes.answer("POST", "/v1/images/edits", {"Content-Type": content_type, **HOST},
                            body)
    assert refused.status == 400
    assert "Invalid image file" in refused.json["error"]["message"]
    assert routes.violations == []
