"""Incoming lightweight bodies (docs/protocol.md#incoming-references) against the
object-storage stand-in: read whole, but never more than the cap; costs counted in bytes
that left the stand-in."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from elasticio_sailor.crypto import MessageCipher
from elasticio_sailor.lightweight import BodyStore
from elasticio_sailor.object_storage import ObjectStorage, ObjectStorageError, ObjectTooLargeError
from elasticio_sailor.settings import DEFAULT_OBJECT_STORAGE_BODY_SIZE_LIMIT, load_task_settings

from tests.sailor.test_settings import std_env
from tests.support.object_storage import ObjectStorageStandIn

TOKEN = "maester-jwt-token-SECRET"
MIB = 1024 * 1024
CAP = 64 * 1024
# Far more than the cap and than what loopback socket buffers hold (a few MiB), so that a
# reader that did not stop would show in the bytes sent.
HUGE = 48 * MIB


@pytest.fixture
def stand_in() -> Iterator[ObjectStorageStandIn]:
    with ObjectStorageStandIn(TOKEN) as storage:
        yield storage


def client(stand_in: ObjectStorageStandIn) -> ObjectStorage:
    return ObjectStorage(stand_in.url, TOKEN, retry_delays_s=(0.0, 0.0), sleep=lambda _s: None)


def cipher() -> MessageCipher:
    return MessageCipher("crypto-password", "0123456789abcdef")


def test_a_body_within_the_cap_is_read_decrypted_and_parsed(stand_in) -> None:
    body = {"text": "x" * 1000}
    object_id = stand_in.put(cipher().encrypt(json.dumps(body)))
    store = BodyStore(client(stand_in), cipher(), max_body_bytes=2000)
    assert store.get_body(object_id) == body


def test_the_cap_is_inclusive(stand_in) -> None:
    object_id = stand_in.put(b"x" * CAP)
    assert len(client(stand_in).get_object(object_id, max_bytes=CAP)) == CAP
    with pytest.raises(ObjectTooLargeError):
        client(stand_in).get_object(object_id, max_bytes=CAP - 1)


@pytest.mark.parametrize("length_announced", [True, False])
def test_a_huge_object_is_refused_after_at_most_the_cap(stand_in, length_announced) -> None:
    stand_in.hide_read_length(not length_announced)
    object_id = stand_in.put(b"\0" * HUGE)
    with pytest.raises(ObjectTooLargeError, match=f"larger than the limit of {CAP} bytes"):
        client(stand_in).get_object(object_id, max_bytes=CAP)
    stand_in.wait_handled(1)
    assert len(stand_in.calls_to("GET")) == 1  # too large is not worth another attempt
    assert stand_in.bytes_sent < HUGE // 4  # the reader hung up early


def test_a_body_over_the_cap_names_the_setting_that_raises_it(stand_in) -> None:
    stand_in.hide_read_length()
    object_id = stand_in.put(cipher().encrypt(json.dumps({"text": "x" * 5000})))
    store = BodyStore(client(stand_in), cipher(), max_body_bytes=1000)
    with pytest.raises(ObjectStorageError) as raised:
        store.get_body(object_id)
    assert str(raised.value) == (
        f"message body {object_id} is larger than the limit of 1000 bytes "
        "(set ELASTICIO_OBJECT_STORAGE_BODY_SIZE_LIMIT to accept larger ones)")
    assert TOKEN not in str(raised.value)


@pytest.mark.parametrize(("raw", "expected"), [
    (None, DEFAULT_OBJECT_STORAGE_BODY_SIZE_LIMIT), ("1000", 1000), ("0", 32 * MIB),
    ("-5", 32 * MIB), ("lots", 32 * MIB),
])
def test_the_cap_is_a_setting(raw: str | None, expected: int) -> None:
    env = std_env() if raw is None else std_env(ELASTICIO_OBJECT_STORAGE_BODY_SIZE_LIMIT=raw)
    assert load_task_settings(env).object_storage_body_size_limit == expected


def test_a_read_that_breaks_off_is_repeated_then_fails(stand_in) -> None:
    object_id = stand_in.put(b"y" * (CAP * 4))
    stand_in.cut_reads_after(CAP)
    with pytest.raises(ObjectStorageError, match="broke off"):
        client(stand_in).get_object(object_id, max_bytes=CAP * 8)
    assert len(stand_in.calls_to("GET")) == 3
    stand_in.cut_reads_after(None)
    assert client(stand_in).get_object(object_id, max_bytes=CAP * 8) == b"y" * (CAP * 4)
