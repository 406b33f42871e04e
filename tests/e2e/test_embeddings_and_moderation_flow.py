"""Create Embeddings and Moderate in task mode on RabbitMQ: the real component on our
sailor, the OpenAI stand-in (every request checked against the official OpenAPI
document) and, for an image attachment, the object storage stand-in."""

from __future__ import annotations

import pytest

from tests.e2e.flows import step_in_flow
from tests.support.object_storage import ObjectStorageStandIn
from tests.support.openai_embeddings_routes import tokens_of
from tests.support.openai_moderations_routes import FLAGGED_IMAGE_MARK
from tests.support.openai_standin import OpenAIStandIn
from tests.support.openapi_contract import validate
from tests.support.platform_sim import PlatformSim

API_KEY = "sk-e2e-SECRET-key"
STORAGE_TOKEN = "storage-SECRET-token"
PHOTO = b"\x89PNG\r\n\x1a\n" + FLAGGED_IMAGE_MARK + b"\x00" * 64

pytestmark = [pytest.mark.broker, pytest.mark.timeout(120)]


@pytest.fixture
def openai():
    with OpenAIStandIn(api_key=API_KEY, validator=validate) as standin:
        yield standin
        assert standin.violations == [], "a request broke the OpenAPI contract"


def the_data(sim: PlatformSim) -> dict:
    published = sim.wait_published(1, timeout=60)
    assert sim.published_to("error") == [], [p.routing_key for p in published]
    [data] = sim.published_to("data")
    return data.decoded()


def test_a_long_list_is_embedded_in_two_requests_and_emitted_as_one_message(
        broker, openai, repo_root):
    config = {"apiKey": API_KEY, "baseUrl": openai.url, "model": "text-embedding-3-small"}
    texts = [f"product {i}" for i in range(600)]
    with step_in_flow(broker.url, repo_root, "createEmbeddings", {"config": config},
                      API_KEY) as (sim, start):
        sim.publish_input({"body": {"input": texts}})
        start()
        message = the_data(sim)
    answer = message["body"]
    assert [item["index"] for item in answer["data"]] == list(range(600))
    sent = openai.json_routes.bodies["/v1/embeddings"]
    assert [len(body["input"]) for body in sent] == [512, 88]
    assert answer["usage"]["prompt_tokens"] == sum(tokens_of(text) for text in texts)


def test_an_image_attachment_is_read_from_the_storage_and_moderated(broker, openai, repo_root):
    config = {"apiKey": API_KEY, "baseUrl": openai.url, "model": "omni-moderation-latest"}
    with ObjectStorageStandIn(STORAGE_TOKEN) as storage, step_in_flow(
            broker.url, repo_root, "moderate", {"config": config}, API_KEY) as (sim, start):
        photo = storage.put(PHOTO, "image/png")
        sim.publish_input({
            "body": {"input": [{"type": "text", "text": "My new profile picture"},
                               {"type": "image_url", "image_url": {"url": "photo.png"}}]},
            "attachments": {"photo.png": {"url": storage.object_url(photo),
                                          "size": len(PHOTO), "content-type": "image/png"}}})
        run = start(ELASTICIO_OBJECT_STORAGE_URI=storage.url,
                    ELASTICIO_OBJECT_STORAGE_TOKEN=STORAGE_TOKEN)
        message = the_data(sim)
        reads = storage.calls_to("GET")
    assert message["body"]["results"][0]["flagged"] is True
    assert len(reads) == 1
    assert reads[0].headers["authorization"] == f"Bearer {STORAGE_TOKEN}"
    [sent] = openai.json_routes.bodies["/v1/moderations"]
    assert sent["input"][1]["image_url"]["url"].startswith("data:image/png;base64,")
    assert STORAGE_TOKEN not in run.output()
    assert STORAGE_TOKEN not in str(message)
