"""Generate Image through `process`: the images from the OpenAI stand-in are decoded as the
answer arrives, stored in the object storage stand-in and emitted as attachments, never in
the body."""

from __future__ import annotations

import base64
import hashlib
import json
import tempfile
import threading
import tracemalloc
from pathlib import Path

import pytest
from elasticio_sailor import ShutdownInterrupted
from elasticio_sailor.attachments import Attachments
from elasticio_sailor.object_storage import ObjectStorage
from jsonschema import Draft202012Validator

from lib.actions import generate_image
from lib.errors import AttachmentNotAllowedError, InputValidationError
from lib.openai.base64_fields import MalformedAnswerError
from lib.openai.errors import NotFoundError, NotResentError
from lib.validation import load_schema, to_json_schema
from tests.support.action_support import STORAGE_TOKEN, FakeSelfWithFiles, cfg
from tests.support.image_files import image_bytes
from tests.support.object_storage import ObjectStorageStandIn
from tests.support.openai_replies import Reply, error_body
from tests.support.openai_standin import OpenAIStandIn

OUT = Draft202012Validator(to_json_schema(load_schema("generateImage.out.json")))
PROMPT = "A lighthouse at dusk"


def run(standin: OpenAIStandIn, storage: ObjectStorageStandIn, body: dict,
        me: FakeSelfWithFiles | None = None, **config: object) -> dict:
    me = me or FakeSelfWithFiles(storage.url, STORAGE_TOKEN)
    return generate_image.process(
        me, {"id": "m1", "body": body},
        cfg(**{"baseUrl": standin.url, "model": "gpt-image-1", **config}), {})


def spooled_folders() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("files-out-*"))


def test_the_image_is_an_attachment_and_the_body_names_it(
        openai_standin: OpenAIStandIn, object_storage: ObjectStorageStandIn) -> None:
    before = spooled_folders()
    result = run(openai_standin, object_storage, {"prompt": PROMPT, "quality": "low"})
    image = image_bytes("png", (1024, 1024), f"{PROMPT}#0")
    [(object_id, stored)] = object_storage.objects.items()
    assert (stored.content, stored.content_type) == (image, "image/png")
    assert result["attachments"] == {"image-1.png": {
        "url": object_storage.object_url(object_id), "size": len(image),
        "content-type": "image/png"}}
    body = result["body"]
    assert body["data"] == [{"attachment": {"name": "image-1.png", "size": len(image),
                                            "content_type": "image/png"},
                             "revised_prompt": None}]
    assert body["usage"]["total_tokens"] == 284
    assert body["output_format"] == "png"
    assert list(OUT.iter_errors(body)) == []
    assert len(json.dumps(result)) < 1500  # never the image itself
    assert openai_standin.images.generations == [
        {"prompt": PROMPT, "quality": "low", "model": "gpt-image-1"}]
    assert spooled_folders() == before  # the spool is gone


def test_several_images_keep_their_order_names_and_type(
        openai_standin: OpenAIStandIn, object_storage: ObjectStorageStandIn) -> None:
    result = run(openai_standin, object_storage,
                 {"prompt": PROMPT, "n": 3, "output_format": "jpeg"})
    images = [image_bytes("jpeg", (1024, 1024), f"{PROMPT}#{i}") for i in range(3)]
    names = ["image-1.jpg", "image-2.jpg", "image-3.jpg"]
    assert list(result["attachments"]) == names
    assert [item["attachment"] for item in result["body"]["data"]] == [
        {"name": name, "size": len(image), "content_type": "image/jpeg"}
        for name, image in zip(names, images, strict=True)]
    stored = {object_storage.object_url(object_id): item.content
              for object_id, item in object_storage.objects.items()}
    assert [stored[result["attachments"][name]["url"]] for name in names] == images


def test_dall_e_is_asked_for_base64_and_its_revised_prompt_is_kept(
        openai_standin: OpenAIStandIn, object_storage: ObjectStorageStandIn) -> None:
    result = run(openai_standin, object_storage, {"prompt": PROMPT}, model="dall-e-3")
    assert openai_standin.images.generations[0]["response_format"] == "b64_json"
    assert result["body"]["data"][0]["revised_prompt"] == f"A detailed picture: {PROMPT}"
    assert list(OUT.iter_errors(result["body"])) == []


def test_a_linked_image_is_refused_when_the_policy_does_not_allow_its_host(
        openai_standin: OpenAIStandIn, object_storage: ObjectStorageStandIn) -> None:
    with pytest.raises(AttachmentNotAllowedError) as caught:
        run(openai_standin, object_storage, {"prompt": PROMPT, "response_format": "url"},
            model="sdxl")
    assert "data[0].url" in str(caught.value)
    assert "sig=" not in str(caught.value)
    assert object_storage.objects == {}
    assert [r.method for r in openai_standin.requests] == ["POST"]  # the link not fetched


def test_a_linked_image_of_an_allowed_host_is_downloaded_and_stored(
        openai_standin: OpenAIStandIn, object_storage: ObjectStorageStandIn,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATTACHMENT_ALLOWED_HOSTS", "127.0.0.1")
    me = FakeSelfWithFiles(object_storage.url, STORAGE_TOKEN)
    result = run(openai_standin, object_storage, {"prompt": PROMPT, "response_format": "url",
                                                  "n": 2}, me, model="sdxl")
    images = [image_bytes("png", (1024, 1024), f"{PROMPT}#{i}") for i in range(2)]
    assert sorted(o.content for o in object_storage.objects.values()) == sorted(images)
    assert [item["attachment"]["size"] for item in result["body"]["data"]] == [
        len(image) for image in images]
    assert "url" not in json.dumps(result["body"])  # the link (signed) is not passed on
    assert "sig=" not in me.logger.text()


def test_a_prompt_over_the_models_limit_is_refused_before_sending(
        openai_standin: OpenAIStandIn, object_storage: ObjectStorageStandIn) -> None:
    with pytest.raises(InputValidationError, match="prompt has 4,001 characters"):
        run(openai_standin, object_storage, {"prompt": "a" * 4001}, model="dall-e-3")
    assert openai_standin.requests == []


def test_a_server_without_the_endpoint_is_named(
        openai_standin: OpenAIStandIn, object_storage: ObjectStorageStandIn) -> None:
    openai_standin.script(Reply(404, error_body("Not Found", "invalid_request_error")))
    with pytest.raises(NotFoundError, match="no POST /images/generations endpoint"):
        run(openai_standin, object_storage, {"prompt": PROMPT})


@pytest.mark.parametrize(("data", "problem"), [
    ([{"b64_json": "not base64!"}], "is not base64"),
    ([{"b64_json": base64.b64encode(b"a").decode()}] * 2, "more than the 1 b64_json"),
])
def test_a_malformed_answer_stores_nothing_and_leaves_no_spool(
        openai_standin: OpenAIStandIn, object_storage: ObjectStorageStandIn,
        data: list, problem: str) -> None:
    before = spooled_folders()
    openai_standin.script(Reply(json={"created": 1, "data": data}))
    with pytest.raises(MalformedAnswerError, match=problem):
        run(openai_standin, object_storage, {"prompt": PROMPT})
    assert object_storage.objects == {}
    assert spooled_folders() == before


def test_an_upload_that_fails_half_way_is_sent_again_from_the_spool(
        openai_standin: OpenAIStandIn, object_storage: ObjectStorageStandIn) -> None:
    me = FakeSelfWithFiles(object_storage.url, STORAGE_TOKEN)
    me.attachments = Attachments(ObjectStorage(object_storage.url, STORAGE_TOKEN,
                                               retry_delays_s=(0.0,)))
    object_storage.fail_next("POST", 503)
    result = run(openai_standin, object_storage, {"prompt": PROMPT}, me)
    image = image_bytes("png", (1024, 1024), f"{PROMPT}#0")
    assert [o.content for o in object_storage.objects.values()] == [image]
    assert len(object_storage.calls_to("POST")) == 2
    assert len(openai_standin.images.generations) == 1  # the image is made (paid) once
    assert result["attachments"]["image-1.png"]["size"] == len(image)


def test_a_large_answer_is_never_held_whole(openai_standin: OpenAIStandIn) -> None:
    """A 24 MiB image (32 MiB of base64) goes from the answer to the storage through a
    file, one chunk at a time: the step's peak memory stays a fraction of the image."""
    image = image_bytes("png", (16, 16), "big", padding=24 * 2**20)
    raw = json.dumps({"created": 1, "data": [
        {"b64_json": base64.b64encode(image).decode()}]}).encode()
    openai_standin.script(Reply(data=raw))
    with ObjectStorageStandIn(STORAGE_TOKEN, keep_content=False) as storage:
        me = FakeSelfWithFiles(storage.url, STORAGE_TOKEN)
        tracemalloc.start()
        try:
            result = run(openai_standin, storage, {"prompt": PROMPT}, me)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        [stored] = storage.objects.values()
    assert (stored.size, stored.sha256) == (len(image), hashlib.sha256(image).hexdigest())
    assert result["attachments"]["image-1.png"]["size"] == len(image)
    assert peak < 2 * 2**20, f"peak {peak / 2**20:.1f} MiB"


def test_a_generation_that_may_have_reached_the_server_is_not_sent_again(
        openai_standin: OpenAIStandIn, object_storage: ObjectStorageStandIn) -> None:
    openai_standin.script(Reply(500, error_body("The server had an error", "server_error")))
    with pytest.raises(NotResentError, match="may have been started \\(and billed\\)"):
        run(openai_standin, object_storage, {"prompt": PROMPT})
    assert len(openai_standin.images.generations) == 0  # the scripted 500 answered the one
    assert len(openai_standin.requests) == 1
    assert object_storage.objects == {}


def test_a_rate_limited_generation_is_tried_again(
        openai_standin: OpenAIStandIn, object_storage: ObjectStorageStandIn) -> None:
    openai_standin.script(Reply(429, error_body("Rate limit reached", "requests",
                                                "rate_limit_exceeded")))
    result = run(openai_standin, object_storage, {"prompt": PROMPT})
    assert len(openai_standin.requests) == 2
    assert list(result["attachments"]) == ["image-1.png"]


def test_on_api_error_emit_gives_the_error_as_the_message(
        openai_standin: OpenAIStandIn, object_storage: ObjectStorageStandIn) -> None:
    openai_standin.script(Reply(400, error_body("Your request was rejected by the safety "
                                                "system.", "image_generation_user_error",
                                                "moderation_blocked")))
    result = run(openai_standin, object_storage, {"prompt": PROMPT}, onApiError="emit")
    assert result["body"]["error"]["code"] == "moderation_blocked"
    assert list(OUT.iter_errors(result["body"])) == []
    assert object_storage.objects == {}


def test_a_step_shutting_down_sends_nothing_and_leaves_the_message(
        openai_standin: OpenAIStandIn, object_storage: ObjectStorageStandIn) -> None:
    me = FakeSelfWithFiles(object_storage.url, STORAGE_TOKEN)
    me.shutting_down = threading.Event()
    me.shutting_down.set()
    with pytest.raises(ShutdownInterrupted):
        run(openai_standin, object_storage, {"prompt": PROMPT}, me)
    assert openai_standin.requests == []
    assert object_storage.objects == {}
