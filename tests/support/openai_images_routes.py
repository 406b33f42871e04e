"""The stand-in's image endpoints: generations (JSON) and edits (multipart).

    routes = ImagesRoutes(validator)          # the official document's validator, or None
    routes.answer("POST", "/v1/images/generations", headers, raw_body) -> Reply

Answers are made from the request, so that a test can tell what went through:
- each image is ``tests.support.image_files.image_bytes(format, size, seed)`` (a real png
  of the size asked for; jpeg and webp only by their leading bytes);
- the images are ``b64_json``, or links to ``GET /v1/images/files/{name}`` on the
  stand-in itself for ``response_format: url`` (and for dall-e when it names no format);
  dall-e-3 adds a revised prompt, the other models the GPT image models' usage, output
  format, size, quality and background;
- an edit refuses what the API refuses: an image or mask that is not png/jpeg/webp by its
  bytes, more than one image or a non-square one for dall-e-2, a mask that is not a png.
``image_padding`` adds that many bytes to every png (a private chunk, still a valid png),
for tests of large images. A request that does not match the official document's
``CreateImageRequest`` or ``CreateImageEditRequest`` is recorded as a violation and
answered 400, as the real API would.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.support.image_files import image_bytes, kind_of, png_size
from tests.support.multipart_form import Form, FormError, parse_form
from tests.support.openai_replies import (
    Reply,
    Validator,
    contract_refusal,
    error_body,
    json_object,
    not_json_object,
)

GENERATIONS = "/v1/images/generations"
EDITS = "/v1/images/edits"
FILES = "/v1/images/files/"
MEDIA_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
DEFAULT_SIZE = (1024, 1024)
MAX_DRAWN_SIDE = 4096
# How a form's text fields map back to the document's JSON types.
FORM_NUMBERS = frozenset({"n", "output_compression", "partial_images"})
def parse_size(text: Any) -> tuple[int, int]:
    """``1536x1024`` as (1536, 1024); ``auto`` and anything unreadable as 1024x1024."""
    if isinstance(text, str):
        width, _, height = text.partition("x")
        if width.isdigit() and height.isdigit():
            size = (int(width), int(height))
            if min(size) > 0 and max(size) <= MAX_DRAWN_SIDE:
                return size
    return DEFAULT_SIZE


def is_dall_e(model: Any) -> bool:
    return isinstance(model, str) and model.startswith("dall-e")


@dataclass
class ImagesRoutes:
    """Answers the image endpoints; `generations` records every generation body, `forms`
    every edit form, `files` the images served by link."""

    validator: Validator | None = None
    violations: list[str] = field(default_factory=list)
    generations: list[dict[str, Any]] = field(default_factory=list)
    forms: list[Form] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    image_padding: int = 0

    def handles(self, method: str, path: str) -> bool:
        return method == "POST" and path in (GENERATIONS, EDITS)

    def answer(self, method: str, path: str, headers: Mapping[str, str], raw: bytes) -> Reply:
        del method
        base_url = f"http://{headers.get('Host', '127.0.0.1')}"  # where links to images point
        if path == GENERATIONS:
            return self._generation(raw, base_url)
        try:
            form = parse_form(headers.get("Content-Type"), raw)
        except FormError as exc:
            return Reply(400, error_body(f"Could not parse multipart form: {exc}",
                                         "invalid_request_error"))
        return self._edit(form, base_url)

    def _generation(self, raw: bytes, base_url: str) -> Reply:
        body = json_object(raw)
        if body is None:
            return not_json_object()
        self.generations.append(body)
        refused = contract_refusal(self.validator, self.violations, "CreateImageRequest", body)
        if refused is not None:
            return refused
        return self._images(body, body["prompt"], base_url)

    def _edit(self, form: Form, base_url: str) -> Reply:
        self.forms.append(form)
        request = form.as_request(numbers=FORM_NUMBERS)
        if "image[]" in form.files:
            request.pop("image[]", None)
            request["image"] = ["(binary)"] * len(form.files["image[]"])
        refused = contract_refusal(self.validator, self.violations, "CreateImageEditRequest",
                                   request)
        if refused is not None:
            return refused
        problem = edit_problem(form, request.get("model"))
        if problem is not None:
            return Reply(400, error_body(problem, "invalid_request_error", None, "image"))
        return self._images(request, str(request.get("prompt")), base_url)

    def _images(self, request: dict[str, Any], prompt: str, base_url: str) -> Reply:
        model = request.get("model")
        count = int(request.get("n") or 1)
        size = parse_size(request.get("size"))
        output_format = "png" if is_dall_e(model) else request.get("output_format") or "png"
        images = [image_bytes(output_format, size, f"{prompt}#{index}", self.image_padding)
                  for index in range(count)]
        links = request.get("response_format") == "url" or (
            is_dall_e(model) and request.get("response_format") is None)
        data = []
        for index, image in enumerate(images):
            if links:
                name = f"img-{hashlib.sha256(image).hexdigest()[:16]}-{index}.{output_format}"
                self.files[name] = image
                item = {"url": f"{base_url}{FILES}{name}?se=2030-01-01&sig=stand-in-signature"}
            else:
                item = {"b64_json": base64.b64encode(image).decode("ascii")}
            if model == "dall-e-3":
                item["revised_prompt"] = f"A detailed picture: {prompt}"
            data.append(item)
        answer: dict[str, Any] = {"created": int(time.time()), "data": data}
        if not is_dall_e(model):  # the GPT image models say how they made the images
            tokens = 272 * count
            answer.update({
                "background": "opaque", "output_format": output_format,
                "size": "1024x1024" if size == DEFAULT_SIZE else "1536x1024",
                "quality": "medium",
                "usage": {"input_tokens": 12, "output_tokens": tokens,
                          "total_tokens": 12 + tokens,
                          "input_tokens_details": {"text_tokens": 12, "image_tokens": 0},
                          "output_tokens_details": {"image_tokens": tokens,
                                                    "text_tokens": 0}}})
        return Reply(json=answer)

    def linked_file(self, method: str, path: str) -> Reply | None:
        """``GET /v1/images/files/{name}``: an image answered as a link (no key needed, as
        for a signed link); None for any other request."""
        if method != "GET" or not path.startswith(FILES):
            return None
        image = self.files.get(path.removeprefix(FILES).partition("?")[0])
        if image is None:
            return Reply(404, error_body("No such image", "invalid_request_error"))
        return Reply(data=image, content_type="image/png")


def edit_problem(form: Form, model: Any) -> str | None:
    """What the API would refuse in an edit's files (the document cannot say it)."""
    images = form.files.get("image") or form.files.get("image[]") or []
    for index, image in enumerate(images):
        kind = kind_of(image.data)
        if kind is None or (model == "dall-e-2" and kind != "png"):
            return (f"Invalid image file or mode for image {index + 1}, please check your "
                    "image file.")
        if model == "dall-e-2":
            width, height = png_size(image.data)
            if width != height:
                return "Invalid input image - image must be square"
    if model == "dall-e-2" and len(images) > 1:
        return "dall-e-2 takes one image"
    mask = form.file("mask")
    if mask is not None and kind_of(mask.data) != "png":
        return "Invalid mask image file, please check your mask file."
    return None
