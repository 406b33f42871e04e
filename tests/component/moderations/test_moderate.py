"""Moderate end to end: `process` called as a plain function, the API faked over HTTP by
the stand-in's route (which, like the API, reads images only as data URLs or public
https URLs), the platform's storage faked too."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest
import responses
from jsonschema import Draft202012Validator

from lib.actions import moderate
from lib.errors import AttachmentError, InputValidationError
from lib.openai.errors import NotFoundError
from lib.validation import load_schema, to_json_schema
from tests.support.action_support import API_KEY, BASE_URL, FakeSelf, cfg
from tests.support.netguard import NetGuard
from tests.support.openai_moderations_routes import FLAGGED_IMAGE_MARK, moderation_answer
from tests.support.openapi_contract import validate

pytestmark = pytest.mark.usefixtures("fresh_clients", "guarded_dns")

MODERATIONS_URL = f"{BASE_URL}/moderations"
MODEL = "omni-moderation-latest"
OUT = Draft202012Validator(to_json_schema(load_schema("moderate.out.json")))
STORAGE = "http://maester-service.platform.svc.cluster.local:3002"
STORAGE_TOKEN = "storage-token-XYZ"
PHOTO = b"\x89PNG\r\n\x1a\n" + FLAGGED_IMAGE_MARK + b"\x00" * 16
PHOTO_URL = f"{STORAGE}/objects/photo-1?storage_type=maester"
ATTACHMENTS = {"photo.png": {"url": PHOTO_URL, "size": len(PHOTO), "content-type": "image/png"}}


@pytest.fixture
def guarded_dns() -> Iterator[NetGuard]:
    """Attachment hosts resolve from a table: no DNS query leaves the machine."""
    with NetGuard({"files.example.com": ["93.184.215.14"]}).installed() as guard:
        yield guard


@pytest.fixture
def storage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ELASTICIO_OBJECT_STORAGE_URI", STORAGE)
    monkeypatch.setenv("ELASTICIO_OBJECT_STORAGE_TOKEN", STORAGE_TOKEN)
    responses.add(responses.GET, PHOTO_URL, body=PHOTO, content_type="image/png")


def stand_in(request: responses.PreparedRequest) -> tuple[int, dict, str]:
    body = json.loads(request.body)
    validate("CreateModerationRequest", body)
    status, document = moderation_answer(body)
    return status, {}, json.dumps(document)


def served() -> None:
    responses.add_callback(responses.POST, MODERATIONS_URL, callback=stand_in,
                           content_type="application/json")


def sent() -> list[dict]:
    return [json.loads(call.request.body) for call in responses.calls
            if call.request.url == MODERATIONS_URL]


def run(body: dict, **msg: object) -> tuple[FakeSelf, dict]:
    me = FakeSelf()
    result = moderate.process(me, {"id": "m1", "body": body, **msg}, cfg(model=MODEL), {})
    assert isinstance(result, dict)
    return me, result


@responses.activate
def test_a_list_of_texts_gives_one_result_each_and_the_answer_whole() -> None:
    served()
    _, result = run({"input": ["Thanks for the quick delivery!", "I will kill you."]})
    assert sent() == [{"model": MODEL,
                       "input": ["Thanks for the quick delivery!", "I will kill you."]}]
    answer = result["body"]
    assert [r["flagged"] for r in answer["results"]] == [False, True]
    assert answer["results"][1]["categories"]["violence"] is True
    assert [e.message for e in OUT.iter_errors(answer)] == []


@responses.activate
@pytest.mark.usefixtures("storage")
def test_an_image_named_by_its_attachment_is_fetched_with_the_token_and_sent_inline() -> None:
    served()
    me, result = run({"input": [{"type": "text", "text": "My new profile picture"},
                                {"type": "image_url", "image_url": {"url": "photo.png"}}]},
                     attachments=ATTACHMENTS)
    [body] = sent()
    assert body["input"][1]["image_url"]["url"] == (
        "data:image/png;base64," + base64.b64encode(PHOTO).decode())
    [download] = [c.request for c in responses.calls if c.request.method == "GET"]
    assert download.headers["Authorization"] == f"Bearer {STORAGE_TOKEN}"
    assert result["body"]["results"][0]["flagged"] is True
    log = me.logger.text()
    assert "input[1].image_url.url: image" in log
    assert STORAGE_TOKEN not in log + json.dumps(result)


@responses.activate
@pytest.mark.usefixtures("storage")
def test_an_image_part_without_url_takes_the_only_image_attachment() -> None:
    served()
    attachments = {**ATTACHMENTS, "notes.txt": {"url": f"{STORAGE}/objects/2",
                                                "content-type": "text/plain"}}
    run({"input": [{"type": "image_url"}]}, attachments=attachments)
    assert sent()[0]["input"][0]["image_url"]["url"].startswith("data:image/png;base64,")


@responses.activate
def test_a_public_https_image_is_passed_on_for_the_api_to_fetch() -> None:
    served()
    url = "https://files.example.com/photo.png"
    run({"input": [{"type": "image_url", "image_url": {"url": url}}]})
    assert sent()[0]["input"][0]["image_url"]["url"] == url
    assert [c.request.method for c in responses.calls] == ["POST"]


@responses.activate
def test_an_image_that_names_nothing_known_fails_before_anything_is_sent() -> None:
    served()
    with pytest.raises(AttachmentError, match=r"^input\[0\]\.image_url\.url: the message has "
                       r"no attachment named 'photo\.jpg' \(attachments: 'photo\.png'\)"):
        run({"input": [{"type": "image_url", "image_url": {"url": "photo.jpg"}}]},
            attachments=ATTACHMENTS)
    assert len(responses.calls) == 0


@responses.activate
def test_a_list_of_texts_and_parts_fails_before_anything_is_sent() -> None:
    served()
    with pytest.raises(InputValidationError, match=r"input mixes texts"):
        run({"input": ["a", {"type": "text", "text": "b"}]})
    assert len(responses.calls) == 0


@responses.activate
def test_a_server_without_moderations_is_named_in_the_error() -> None:
    local = "http://127.0.0.1:8099/v1"
    responses.add(responses.POST, f"{local}/moderations", status=404,
                  json={"detail": "Not Found"})
    with pytest.raises(NotFoundError) as caught:
        moderate.process(FakeSelf(), {"body": {"input": "a"}},
                         cfg(model="x", baseUrl=local, serverType="compatible"), {})
    assert "POST /moderations" in str(caught.value)
    assert API_KEY not in str(caught.value)
