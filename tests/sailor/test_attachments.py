"""attachments.py against the object-storage stand-in (docs/protocol.md#attachments): upload,
read back, size caps, retries, which URLs the sailor reads itself, secrets."""

from __future__ import annotations

import hashlib
import io
import tracemalloc
from collections.abc import Iterator

import pytest
from elasticio_sailor.attachments import (
    CHUNK_BYTES,
    MIB,
    Attachment,
    AttachmentError,
    Attachments,
    AttachmentStream,
    AttachmentTooLargeError,
    AttachmentUrlError,
    NoAttachmentStoreError,
    attachments_field,
)
from elasticio_sailor.object_storage import ObjectStorage, ObjectStorageError

from tests.support.object_storage import ObjectStorageStandIn

TOKEN = "maester-jwt-token-SECRET"


@pytest.fixture
def stand_in() -> Iterator[ObjectStorageStandIn]:
    with ObjectStorageStandIn(TOKEN) as storage:
        yield storage


def client(stand_in: ObjectStorageStandIn, token: str = TOKEN) -> ObjectStorage:
    return ObjectStorage(stand_in.url, token, flow_id="flow-1", step_id="step_2",
                         retry_delays_s=(0.0, 0.0), sleep=lambda _s: None)


def attachments(stand_in: ObjectStorageStandIn) -> Attachments:
    return Attachments(client(stand_in))


def generated(total: int, chunk: int = CHUNK_BYTES) -> Iterator[bytes]:
    """``total`` bytes made chunk by chunk, never all at once."""
    for at in range(0, total, chunk):
        yield bytes([at // chunk % 251]) * min(chunk, total - at)


# --- upload -----------------------------------------------------------------------------


def test_upload_posts_to_the_storage_and_returns_the_platform_shape(stand_in) -> None:
    attachment = attachments(stand_in).upload("speech.mp3", b"ID3 audio bytes")
    [post] = stand_in.calls_to("POST")
    assert post.path == "/maester/objects"
    assert post.headers["authorization"] == f"Bearer {TOKEN}"
    assert post.headers["content-type"] == "audio/mpeg"
    assert post.headers["x-request-id"] == "f:flow-1;s:step_2;m:"
    [(object_id, stored)] = stand_in.objects.items()
    assert stored.content == b"ID3 audio bytes"
    assert attachment == Attachment(
        name="speech.mp3", url=f"{stand_in.url}/objects/{object_id}?storage_type=maester",
        size=15, content_type="audio/mpeg")
    assert attachments_field(attachment) == {"speech.mp3": {
        "url": attachment.url, "size": 15, "content-type": "audio/mpeg"}}


@pytest.mark.parametrize("make", [
    lambda data: data,
    io.BytesIO,
    lambda data: iter([data[:3], b"", data[3:]]),
    lambda data: (lambda: io.BytesIO(data)),
], ids=["bytes", "file", "iterable", "function"])
def test_every_kind_of_content_uploads_and_reads_back(stand_in, make) -> None:
    storage = attachments(stand_in)
    attachment = storage.upload("data.bin", make(b"0123456789"), content_type="x/y")
    assert (attachment.size, attachment.content_type) == (10, "x/y")
    with storage.open(attachment.to_message(), name="data.bin") as stream:
        assert stream.read() == b"0123456789"
        assert (stream.size, stream.content_type) == (10, "x/y")
    [get] = stand_in.calls_to("GET")
    assert get.headers["authorization"] == f"Bearer {TOKEN}"


def test_unknown_extension_is_octet_stream(stand_in) -> None:
    assert attachments(stand_in).upload("blob", b"x").content_type == "application/octet-stream"


def test_a_large_stream_is_never_held_whole(stand_in) -> None:
    """32 MiB from a generator go out one chunk at a time: the peak of traced memory (the
    stand-in's reading included) stays far below the total."""
    stand_in_without_content = ObjectStorageStandIn(TOKEN, keep_content=False)
    try:
        storage = attachments(stand_in_without_content)
        total = 32 * MIB
        expected = hashlib.sha256()
        for chunk in generated(total):
            expected.update(chunk)
        tracemalloc.start()
        try:
            attachment = storage.upload("big.bin", generated(total))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        [stored] = stand_in_without_content.objects.values()
        assert (attachment.size, stored.size) == (total, total)
        assert stored.sha256 == expected.hexdigest()
        assert stand_in_without_content.bytes_received == total
        assert peak < 2 * MIB, peak
    finally:
        stand_in_without_content.close()


def test_a_large_object_is_read_one_chunk_at_a_time(stand_in) -> None:
    total = 16 * MIB
    object_id = stand_in.put(b"".join(generated(total)))
    digest = hashlib.sha256()
    tracemalloc.start()
    try:
        with attachments(stand_in).open(stand_in.object_url(object_id),
                                        max_bytes=total) as stream:
            for chunk in stream.iter_chunks():
                digest.update(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert stream.bytes_read == total
    assert digest.hexdigest() == stand_in.objects[object_id].sha256
    assert peak < 2 * MIB, peak


def test_a_file_made_per_attempt_is_closed_after_each(stand_in, tmp_path) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(b"content")
    opened: list[io.BufferedReader] = []

    def fresh() -> io.BufferedReader:
        opened.append(path.open("rb"))
        return opened[-1]

    stand_in.fail_next("POST", 500)
    attachments(stand_in).upload("a.bin", fresh)
    assert len(opened) == 2
    assert all(file.closed for file in opened)


def test_content_of_known_size_over_the_cap_is_refused_before_sending(stand_in) -> None:
    storage = attachments(stand_in)
    with pytest.raises(AttachmentTooLargeError) as caught:
        storage.upload("speech.mp3", b"x" * 11, max_bytes=10)
    assert str(caught.value) == (
        "attachment 'speech.mp3' is larger than the limit of 10 bytes (11 bytes)")
    with pytest.raises(AttachmentTooLargeError):
        storage.upload("file.bin", io.BytesIO(b"x" * 11), max_bytes=10)
    assert stand_in.calls == []


def test_a_stream_passing_the_cap_is_cut_off_and_nothing_is_stored(stand_in) -> None:
    storage = attachments(stand_in)
    with pytest.raises(AttachmentTooLargeError) as caught:
        storage.upload("image.png", generated(3 * MIB), max_bytes=2 * MIB)
    stand_in.wait_handled(1)
    assert stand_in.aborted_uploads == 1
    assert "'image.png'" in str(caught.value)
    assert f"limit of {2 * MIB} bytes" in str(caught.value)
    assert stand_in.objects == {}
    assert stand_in.bytes_received <= 2 * MIB  # the chunk that passed the limit was not sent
    assert len(stand_in.calls_to("POST")) == 1  # not repeated


def test_stand_in_refuses_objects_over_its_own_limit() -> None:
    with ObjectStorageStandIn(TOKEN, max_object_bytes=100) as small:
        with pytest.raises(ObjectStorageError, match="HTTP 413"):
            attachments(small).upload("a.bin", b"x" * 101)
        assert small.objects == {}


def test_replayable_content_is_sent_again_after_a_server_error(stand_in) -> None:
    stand_in.fail_next("POST", 503, 502)
    attachment = attachments(stand_in).upload("a.txt", io.BytesIO(b"hello"))
    assert len(stand_in.calls_to("POST")) == 3
    assert [s.content for s in stand_in.objects.values()] == [b"hello"]
    assert attachment.size == 5  # counted once, not once per attempt


def test_a_one_shot_stream_is_not_sent_again(stand_in) -> None:
    stand_in.fail_next("POST", 503)
    with pytest.raises(ObjectStorageError) as caught:
        attachments(stand_in).upload("a.txt", iter([b"hello"]))
    assert str(caught.value) == (
        "POST /objects answered HTTP 503 (not repeated: the upload stream cannot be replayed)")
    assert len(stand_in.calls_to("POST")) == 1


def test_a_one_shot_stream_is_retried_when_the_connection_never_opened() -> None:
    """Nothing of the stream was taken: sending it on the next attempt is safe."""
    with ObjectStorageStandIn(TOKEN) as stand_in:
        url = stand_in.url
    dead = ObjectStorage(url, TOKEN, retry_delays_s=(0.0, 0.0), sleep=lambda _s: None)
    taken = []

    def chunks() -> Iterator[bytes]:
        taken.append(1)
        yield b"hello"

    with pytest.raises(ObjectStorageError) as caught:
        Attachments(dead).upload("a.txt", chunks())
    assert str(caught.value) == "POST /objects failed: ConnectionError"
    assert taken == []


def test_no_storage_means_no_upload() -> None:
    with pytest.raises(NoAttachmentStoreError) as caught:
        Attachments().upload("speech.mp3", b"x")
    assert "ELASTICIO_OBJECT_STORAGE_URI is not set" in str(caught.value)
    assert "'speech.mp3'" in str(caught.value)


@pytest.mark.parametrize("content", ["text", {"a": 1}, 42])
def test_content_that_is_not_bytes_is_a_type_error(stand_in, content) -> None:
    with pytest.raises(TypeError):
        attachments(stand_in).upload("a.txt", content)


def test_chunks_that_are_not_bytes_are_refused(stand_in) -> None:
    with pytest.raises(AttachmentError, match="gave a str chunk"):
        attachments(stand_in).upload("a.txt", iter(["text"]))


# --- read -------------------------------------------------------------------------------


def test_an_object_over_the_cap_is_refused_before_reading(stand_in) -> None:
    object_id = stand_in.put(b"x" * 100)
    with pytest.raises(AttachmentTooLargeError) as caught:
        attachments(stand_in).open(stand_in.object_url(object_id), max_bytes=99, name="in.bin")
    assert str(caught.value) == (
        "attachment 'in.bin' is larger than the limit of 99 bytes (100 bytes)")


def test_a_declared_size_over_the_cap_is_refused_without_a_request(stand_in) -> None:
    entry = {"url": stand_in.object_url("any"), "size": 100}
    with pytest.raises(AttachmentTooLargeError):
        attachments(stand_in).open(entry, max_bytes=99)
    assert stand_in.calls == []


def test_a_stream_stops_at_its_cap_whatever_the_source_said() -> None:
    stream = AttachmentStream(iter([b"abc", b"def"]), name="in.bin", max_bytes=4, size=3)
    assert stream.read(3) == b"abc"
    with pytest.raises(AttachmentTooLargeError):
        stream.read(3)


def test_a_stream_reads_in_any_piece_size() -> None:
    stream = AttachmentStream(iter([b"abcdef", b"gh"]), name="x", max_bytes=100)
    assert [stream.read(4), stream.read(1), b"".join(stream.iter_chunks())] == [
        b"abcd", b"e", b"fgh"]
    assert stream.read() == b""
    assert stream.bytes_read == 8


@pytest.mark.parametrize("url", [
    "https://files.example.com/objects/1",  # another host
    "{base_origin}/elsewhere/objects/1",  # the storage's host, not below its base path
    "{base}/objects/a/b",  # not one object
    "{base}/objects/",
    "file:///etc/passwd",  # file:// only in exec
    "not a url",
])
def test_the_sailor_reads_only_its_storage(stand_in, url) -> None:
    base_origin = stand_in.url.rsplit("/maester", 1)[0]
    url = url.format(base=stand_in.url, base_origin=base_origin)
    storage = attachments(stand_in)
    assert not storage.can_open(url)
    with pytest.raises(AttachmentUrlError):
        storage.open(url)
    assert stand_in.calls == []


def test_a_storage_url_is_read_whatever_its_query(stand_in) -> None:
    object_id = stand_in.put(b"data", "text/plain")
    storage = attachments(stand_in)
    url = f"{stand_in.url}/objects/{object_id}"
    assert storage.can_open(url)
    assert storage.can_open(url + "?storage_type=maester")
    with storage.open(url) as stream:
        assert (stream.read(), stream.content_type) == (b"data", "text/plain")


def test_a_missing_object_is_the_storages_error(stand_in) -> None:
    with pytest.raises(ObjectStorageError, match="GET /objects/nope answered HTTP 404"):
        attachments(stand_in).open(stand_in.object_url("nope"))


def test_a_read_that_breaks_off_is_the_storages_error(stand_in) -> None:
    object_id = stand_in.put(b"x" * (3 * CHUNK_BYTES))
    stand_in.cut_reads_after(CHUNK_BYTES)
    with (attachments(stand_in).open(stand_in.object_url(object_id)) as stream,
          pytest.raises(ObjectStorageError) as caught):
        stream.read()
    assert str(caught.value) == f"GET /objects/{object_id} broke off: ChunkedEncodingError"


def test_the_token_is_in_no_error_text(stand_in) -> None:
    wrong = Attachments(client(stand_in, token="wrong-token-SECRET"))
    object_id = stand_in.put(b"x")
    errors = []
    for call in (lambda: wrong.upload("a.txt", b"x"),
                 lambda: wrong.open(stand_in.object_url(object_id))):
        with pytest.raises(ObjectStorageError) as caught:
            call()
        errors.append(str(caught.value))
    assert errors == ["POST /objects answered HTTP 401",
                      f"GET /objects/{object_id} answered HTTP 401"]


# --- the value --------------------------------------------------------------------------


def test_an_incoming_entry_keeps_only_plausible_hints() -> None:
    entry = {"url": "https://x/y", "size": "12", "content-type": 5}
    assert Attachment.from_message("a", entry) == Attachment(name="a", url="https://x/y")
    assert Attachment.from_message("a", {"url": "u", "size": 3, "content-type": "t/p"}) == (
        Attachment(name="a", url="u", size=3, content_type="t/p"))
    for bad in ({}, {"url": 5}, "https://x/y", None):
        with pytest.raises(AttachmentError, match="'a' has no url"):
            Attachment.from_message("a", bad)
