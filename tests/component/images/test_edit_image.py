"""Edit Image through `process`: images and a mask from the object storage stand-in are
streamed into the form the OpenAI stand-in reads (checked against the official document);
counts, sizes and types are refused before anything is sent, the bytes' kind before the
request is complete; the results leave as attachments."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from lib.actions import edit_image
from lib.attachments.inputs import FileInputError
from lib.errors import AttachmentError, AttachmentTooLargeError, InputValidationError
from lib.validation import load_schema, to_json_schema
from tests.support.action_support import STORAGE_TOKEN, FakeSelfWithFiles, cfg
from tests.support.image_files import image_bytes, png_bytes
from tests.support.object_storage import ObjectStorageStandIn
from tests.support.openai_replies import Reply, error_body
from tests.support.openai_standin import OpenAIStandIn

OUT = Draft202012Validator(to_json_schema(load_schema("editImage.out.json")))
PROMPT = "Add a red hat"
CAT = png_bytes(64, 64, b"\x80\x40\x20")
DOG = image_bytes("jpeg", (1, 1), "dog")
MASK = png_bytes(64, 64, b"\x00\x00\x00")


def run(standin: OpenAIStandIn, storage: ObjectStorageStandIn, body: dict,
        attachments: dict | None = None, **config: object
        ) -> tuple[FakeSelfWithFiles, dict]:
    me = FakeSelfWithFiles(storage.url, STORAGE_TOKEN)
    message = {"id": "m1", "body": body, "attachments": attachments or {}}
    result = edit_image.process(
        me, message, cfg(**{"baseUrl": standin.url, "model": "gpt-image-1", **config}), {})
    return me, result


def stored(storage: ObjectStorageStandIn, content: bytes, content_type: str = "image/png"
           ) -> dict:
    return {"url": storage.object_url(storage.put(content, content_type)),
            "size": len(content), "content-type": content_type}


def test_the_only_image_attachment_is_edited(openai_standin: OpenAIStandIn,
                                             object_storage: ObjectStorageStandIn) -> None:
    attachments = {"notes.txt": {"url": "https://example.com/notes.txt",
                                 "content-type": "text/plain"},
                   "cat.png": stored(object_storage, CAT)}
    me, result = run(openai_standin, object_storage,
                     {"prompt": PROMPT, "input_fidelity": "high"}, attachments)
    [form] = openai_standin.images.forms
    assert form.texts == [("model", "gpt-image-1"), ("prompt", PROMPT),
                          ("input_fidelity", "high")]
    sent = form.file("image")
    assert (sent.filename, sent.content_type, sent.data) == ("cat.png", "image/png", CAT)
    edited = image_bytes("png", (1024, 1024), f"{PROMPT}#0")
    assert result["attachments"]["image-1.png"]["size"] == len(edited)
    assert result["body"]["data"][0]["attachment"] == {
        "name": "image-1.png", "size": len(edited), "content_type": "image/png"}
    assert list(OUT.iter_errors(result["body"])) == []
    assert len(json.dumps(result)) < 1500
    assert "image: streaming 'cat.png' to the API (image/png, " in me.logger.text()
    assert STORAGE_TOKEN not in me.logger.text()


def test_several_images_and_a_mask_go_as_the_sdks_send_them(
        openai_standin: OpenAIStandIn, object_storage: ObjectStorageStandIn) -> None:
    attachments = {"cat": stored(object_storage, CAT),
                   "mask.png": stored(object_storage, MASK)}
    dog_url = object_storage.object_url(object_storage.put(DOG, "image/jpeg"))
    _, result = run(openai_standin, object_storage,
                    {"prompt": PROMPT, "image": ["cat", dog_url], "mask": "mask.png", "n": 2},
                    attachments)
    [form] = openai_standin.images.forms
    assert [(f.filename, f.content_type, f.data) for f in form.files["image[]"]] == [
        ("image-1.png", "image/png", CAT), ("image-2.jpg", "image/jpeg", DOG)]
    mask = form.file("mask")
    assert (mask.content_type, mask.data) == ("image/png", MASK)
    assert list(result["attachments"]) == ["image-1.png", "image-2.png"]


def test_a_retry_sends_the_images_again_from_the_storage(
        openai_standin: OpenAIStandIn, object_storage: ObjectStorageStandIn) -> None:
    openai_standin.script(Reply(429, error_body("Rate limit reached", "requests",
                                                "rate_limit_exceeded")))
    _, result = run(openai_standin, object_storage, {"prompt": PROMPT},
                    {"cat.png": stored(object_storage, CAT)})
    assert len(object_storage.calls_to("GET")) == 2  # one download per attempt
    assert openai_standin.images.forms[0].file("image").data == CAT
    assert "image-1.png" in result["attachments"]


@pytest.mark.parametrize("refused", [
    ({"prompt": PROMPT}, {}, "gpt-image-1", FileInputError,
     "image: give an attachment's name or a URL: the message has no image"),
    ({"prompt": PROMPT, "image": "kitten.png"}, {"cat.png": {"url": "https://x.test/c.png"}},
     "gpt-image-1", FileInputError, "image: the message has no attachment named 'kitten.png'"),
    ({"prompt": PROMPT, "image": ["a.png", "b.png"]}, {}, "dall-e-2", InputValidationError,
     "image names 2 images; the model takes at most 1"),
    ({"prompt": PROMPT, "image": "a.gif"},
     {"a.gif": {"url": "https://x.test/a.gif", "content-type": "image/gif"}}, "gpt-image-1",
     FileInputError, (r"image: 'a.gif' \(image/gif\) is not an image the API takes; it "
                      "takes png, webp or jpg")),
    ({"prompt": PROMPT, "image": "a.jpg"},
     {"a.jpg": {"url": "https://x.test/a.jpg", "content-type": "image/jpeg"}}, "dall-e-2",
     FileInputError, "it takes png"),
    ({"prompt": PROMPT, "image": "big.png"},
     {"big.png": {"url": "https://x.test/b.png", "size": 5 * 2**20}}, "dall-e-2",
     AttachmentTooLargeError, ("image: the image 'big.png' has 5,242,880 bytes; the API "
                               "takes at most 4,194,304")),
    ({"prompt": PROMPT, "image": "a.png", "mask": "m.jpg"},
     {"a.png": {"url": "https://x.test/a.png"}, "m.jpg": {"url": "https://x.test/m.jpg"}},
     "gpt-image-1", FileInputError, "mask: 'm.jpg' .* it takes png"),
    ({"prompt": "x" * 1001, "image": "a.png"}, {}, "dall-e-2", InputValidationError,
     "prompt has 1,001 characters; dall-e-2 takes at most 1,000"),
])
def test_what_the_api_would_refuse_is_refused_before_anything_is_sent(
        openai_standin: OpenAIStandIn, object_storage: ObjectStorageStandIn,
        refused: tuple[dict, dict, str, type[Exception], str]) -> None:
    body, attachments, model, error, says = refused
    with pytest.raises(error, match=says):
        run(openai_standin, object_storage, body, attachments, model=model)
    assert openai_standin.requests == []
    assert object_storage.calls == []  # not even downloaded


@pytest.mark.parametrize(("content", "model", "says"), [
    (b"GIF89a" + bytes(100), "gpt-image-1",
     (r"^image \('cat.png'\): the file is a gif file by its content; the model takes png, "
      "webp or jpg images$")),
    (png_bytes(8, 4, b"\x01\x02\x03"), "dall-e-2",
     r"^image \('cat.png'\): 8x4 pixels; the model takes square images only$"),
])
def test_bytes_that_belie_their_name_stop_the_request_before_its_end(
        openai_standin: OpenAIStandIn, object_storage: ObjectStorageStandIn, content: bytes,
        model: str, says: str) -> None:
    with pytest.raises(AttachmentError, match=says):
        run(openai_standin, object_storage, {"prompt": PROMPT},
            {"cat.png": stored(object_storage, content)}, model=model)
    assert openai_standin.images.forms == []  # no complete request reached the server
    assert object_storage.calls_to("POST") == []  # nothing stored
