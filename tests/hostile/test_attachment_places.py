"""Every place where the Responses API takes an image or a file goes through the download
policy, from one table of places (``lib.responses.request.ATTACHMENT_PLACES``).

Before, only the parts of message items were walked: an `input_image` or `input_file`
inside a `function_call_output.output` or a prompt's `variables` was sent to the API as it
was, a metadata address or a signed storage URL with its signature included, although the
README says such URLs are refused before anything is sent. The table is derived here from
the official OpenAPI document (every path from `CreateResponse` to an object that carries
an `image_url` or a `file_url`), so a place the API adds fails this test until it is
walked.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import responses

from lib.actions import create_response
from lib.attachments.downloads import download_policy_from
from lib.errors import AttachmentNotAllowedError
from lib.responses.attachments import inline_response_attachments
from lib.responses.request import (
    ATTACHMENT_PLACES,
    EACH,
    attachment_places,
    build_response_request,
)
from tests.support.action_support import BASE_URL, FakeSelf, cfg, run_process
from tests.support.fake_downloads import FakeDownloads
from tests.support.netguard import NetGuard
from tests.support.openai_standin import response_object
from tests.support.openapi_contract import document, validate

METADATA = "http://169.254.169.254/latest/meta-data/iam/security-credentials/"
SIGNATURE = "SIGNATURE-MARKER-5b4a69788796"
SIGNED = f"http://files.internal/report.pdf?X-Amz-Signature={SIGNATURE}&X-Amz-Expires=600"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
PDF = b"%PDF-1.7\n" + b"x" * 32


def image(url: str) -> dict[str, Any]:
    return {"type": "input_image", "image_url": url, "detail": "auto"}


def file(url: str) -> dict[str, Any]:
    return {"type": "input_file", "file_url": url}


def bodies(url: str) -> dict[str, tuple[dict[str, Any], str]]:
    """A request with `url` at each place, and the place the refusal must name."""
    def output(part: dict[str, Any]) -> dict[str, Any]:
        return {"input": [{"type": "function_call_output", "call_id": "call_1",
                           "output": [part]}]}

    mask = {"type": "image_generation", "input_image_mask": {"image_url": url}}
    return {
        "message image": ({"input": [{"role": "user", "content": [image(url)]}]},
                          "input[0].content[0].image_url"),
        "message file": ({"input": [{"role": "user", "content": [file(url)]}]},
                         "input[0].content[0].file_url"),
        "function output image": (output(image(url)), "input[0].output[0].image_url"),
        "function output file": (output(file(url)), "input[0].output[0].file_url"),
        "computer screenshot": ({"input": [{"type": "computer_call_output", "call_id": "c1",
                                            "output": {"type": "computer_screenshot",
                                                       "image_url": url}}]},
                                "input[0].output.image_url"),
        "prompt variable image": ({"prompt": {"id": "pmpt_1", "variables": {
            "photo": image(url)}}}, "prompt.variables.photo.image_url"),
        "prompt variable file": ({"prompt": {"id": "pmpt_1", "variables": {
            "report": file(url)}}}, "prompt.variables.report.file_url"),
        "image generation mask": ({"input": "Paint it", "tools": [mask]},
                                  "tools[0].input_image_mask.image_url"),
        "mask in a listed tool": ({"input": [{"type": "tool_search_output", "call_id": "c1",
                                              "tools": [mask]}]},
                                  "input[0].tools[0].input_image_mask.image_url"),
    }


# ---- the table is the official document's ---------------------------------------------------


def places_in_the_document() -> set[tuple[str, ...]]:
    """Every path from CreateResponse to an object schema with `image_url` or `file_url`,
    each list element or object value written EACH."""
    schemas = document()["components"]["schemas"]
    found: set[tuple[str, ...]] = set()

    def walk(node: Any, path: tuple[str, ...], seen: frozenset[str]) -> None:
        if not isinstance(node, dict):
            return
        ref = node.get("$ref")
        if isinstance(ref, str):
            name = ref.rsplit("/", 1)[-1]
            if name not in seen:
                walk(schemas[name], path, seen | {name})
            return
        properties = node.get("properties")
        if isinstance(properties, dict):
            if {"image_url", "file_url"} & properties.keys() and path:
                found.add(path)
            for key, child in properties.items():
                walk(child, (*path, key), seen)
        for key in ("items", "additionalProperties"):
            walk(node.get(key), (*path, EACH), seen)
        for key in ("anyOf", "oneOf", "allOf"):
            for child in node.get(key) or ():
                walk(child, path, seen)

    walk(schemas["CreateResponse"], (), frozenset({"CreateResponse"}))
    return found


def test_the_table_holds_every_place_of_the_official_document() -> None:
    assert places_in_the_document() == set(ATTACHMENT_PLACES)


def test_every_place_is_found_in_a_request() -> None:
    for name, (body, place) in bodies(METADATA).items():
        found = [f"{path}.{'file_url' if kind == 'file' else 'image_url'}"
                 for path, _part, kind in attachment_places(body)]
        assert found == [place], name


# ---- every place goes through the policy ---------------------------------------------------


@pytest.fixture
def dns() -> Iterator[NetGuard]:
    with NetGuard({"files.internal": ["10.1.2.3"]}).installed() as guard:
        yield guard


@pytest.mark.usefixtures("fresh_clients", "fresh_jobs", "dns")
@pytest.mark.parametrize("name", bodies(METADATA))
@responses.activate
def test_an_internal_url_at_any_place_is_refused_before_anything_is_sent(name: str) -> None:
    body, place = bodies(METADATA)[name]
    responses.add(responses.POST, f"{BASE_URL}/responses", json=response_object("m", "x"))
    with pytest.raises(AttachmentNotAllowedError) as refused:
        run_process(create_response.process, FakeSelf(), {"id": "m1", "body": body},
                    cfg(model="gpt-5"), {})
    assert str(refused.value).startswith(f"{place}: this URL may not be downloaded")
    assert len(responses.calls) == 0


@pytest.mark.usefixtures("dns")
@pytest.mark.parametrize("name", bodies(SIGNED))
def test_a_signed_url_at_any_place_is_sent_inline_without_its_signature(name: str) -> None:
    body, place = bodies(SIGNED)[name]
    request = build_response_request(body, "gpt-5")
    policy = download_policy_from({"ATTACHMENT_ALLOWED_HOSTS": "files.internal"})
    content = PDF if place.endswith("file_url") else PNG
    downloads = FakeDownloads({SIGNED: (content, None)}, policy, idle_timeout_s=5)
    sent, inlined = inline_response_attachments(request, downloads)
    assert [url for url, _limit in downloads.calls] == [SIGNED]
    assert [item.path for item in inlined] == [place]
    assert SIGNATURE not in json.dumps(sent)
    assert SIGNATURE not in repr(inlined)
    if not name.startswith(("mask", "image generation", "computer")):
        validate("CreateResponse", sent)


def test_images_at_every_place_get_the_default_detail() -> None:
    body = {"prompt": {"id": "pmpt_1", "variables": {"photo": {
        "type": "input_image", "image_url": "https://example.com/a.png"}}},
        "input": [{"type": "function_call_output", "call_id": "c", "output": [{
            "type": "input_image", "image_url": "https://example.com/b.png"}]}]}
    request = build_response_request(body, "gpt-5")
    assert request["prompt"]["variables"]["photo"]["detail"] == "auto"
    assert request["input"][0]["output"][0]["detail"] == "auto"
    assert "detail" not in body["prompt"]["variables"]["photo"], "the input is not modified"
