"""Attachment downloads: bytes and media type, the size limit, and no API key sent."""

from __future__ import annotations

import io

import pytest
import requests
import responses

from lib.openai.client import OpenAIClient
from lib.openai.errors import DownloadError
from lib.openai.retry import RetryPolicy

API_KEY = "sk-test-download-0123456789SECRET"
FILE_URL = "http://127.0.0.1:3002/objects/abc?storage_type=maester&token=t0ken"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100


class CountingReader(io.RawIOBase):
    """A body of `size` bytes that records how much was read from it."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:
        size = min(len(buffer), self.left, 8192)
        buffer[:size] = b"x" * size
        self.left -= size
        self.read_bytes += size
        return size


@pytest.fixture
def client() -> OpenAIClient:
    return OpenAIClient(API_KEY, retry_policy=RetryPolicy(sleep=lambda _s: None))


@responses.activate
def test_download_returns_bytes_and_media_type(client: OpenAIClient) -> None:
    responses.get(FILE_URL, body=PNG, content_type="image/png; charset=binary")
    assert client.download(FILE_URL, max_bytes=1000) == (PNG, "image/png")
    assert "Authorization" not in responses.calls[0].request.headers


@responses.activate
def test_download_passes_its_own_headers(client: OpenAIClient) -> None:
    responses.get(FILE_URL, body=PNG)
    client.download(FILE_URL, max_bytes=1000, headers={"Authorization": "Bearer platform"})
    assert responses.calls[0].request.headers["Authorization"] == "Bearer platform"


@responses.activate
def test_download_without_content_type(client: OpenAIClient) -> None:
    responses.get(FILE_URL, body=PNG, content_type=None)
    assert client.download(FILE_URL, max_bytes=1000)[1] is None


@responses.activate
def test_a_declared_size_above_the_limit_is_refused_unread(client: OpenAIClient) -> None:
    reader = CountingReader(5_000_000)
    responses.get(FILE_URL, body=io.BufferedReader(reader),
                  headers={"Content-Length": "5000000"}, auto_calculate_content_length=False)
    with pytest.raises(DownloadError, match="larger than 1000 bytes") as caught:
        client.download(FILE_URL, max_bytes=1000)
    assert reader.read_bytes == 0
    assert caught.value.is_user_error is True
    assert "token" not in str(caught.value)


@responses.activate
def test_an_undeclared_size_stops_reading_past_the_limit(client: OpenAIClient) -> None:
    reader = CountingReader(5_000_000)
    responses.get(FILE_URL, body=io.BufferedReader(reader), auto_calculate_content_length=False)
    with pytest.raises(DownloadError, match="larger than 100000 bytes"):
        client.download(FILE_URL, max_bytes=100_000)
    assert reader.read_bytes < 400_000


@responses.activate
def test_exactly_the_limit_is_fine(client: OpenAIClient) -> None:
    responses.get(FILE_URL, body=b"x" * 1000)
    assert len(client.download(FILE_URL, max_bytes=1000)[0]) == 1000


@responses.activate
def test_a_missing_file_is_the_users_error(client: OpenAIClient) -> None:
    responses.get(FILE_URL, status=404, body="no such object")
    with pytest.raises(DownloadError) as caught:
        client.download(FILE_URL, max_bytes=1000)
    assert caught.value.status == 404
    assert caught.value.is_user_error is True
    assert len(responses.calls) == 1
    assert "t0ken" not in str(caught.value)
    assert "http://127.0.0.1:3002/objects/abc" in str(caught.value)


@responses.activate
def test_a_storage_outage_is_retried_then_ours(client: OpenAIClient) -> None:
    for _ in range(3):
        responses.get(FILE_URL, status=503)
    with pytest.raises(DownloadError) as caught:
        client.download(FILE_URL, max_bytes=1000)
    assert len(responses.calls) == 3
    assert caught.value.is_user_error is False


@responses.activate
def test_an_unreachable_url_is_a_download_error(client: OpenAIClient) -> None:
    responses.get(FILE_URL, body=requests.ConnectionError("Name or service not known"))
    shown = r"Download of http://127\.0\.0\.1:3002/objects/abc: could not"
    with pytest.raises(DownloadError, match=shown):
        client.download(FILE_URL, max_bytes=1000)
