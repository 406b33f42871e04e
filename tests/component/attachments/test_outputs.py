"""Files out: a file the step makes goes to the runtime's store as it arrives, and the
message carries its entry and, in the body, a reference to it."""

from __future__ import annotations

import pytest
from elasticio_sailor.attachments import Attachments, AttachmentTooLargeError
from elasticio_sailor.object_storage import ObjectStorage

from lib.attachments.outputs import message_with_files, store_file
from tests.support.object_storage import ObjectStorageStandIn

TOKEN = "storage-TOKEN-out-0123456789"


def test_a_file_is_streamed_to_the_storage_and_referenced_by_the_message() -> None:
    pieces = [b"ID3", b"\x01" * 70_000, b"\x02" * 5]
    handed: list[int] = []

    def chunks():
        for piece in pieces:
            handed.append(len(piece))
            yield piece

    with ObjectStorageStandIn(TOKEN) as storage:
        store = Attachments(ObjectStorage(storage.url, TOKEN, retry_delays_s=()))
        stored = store_file(store, "speech.mp3", chunks(), "audio/mpeg")
        message = message_with_files({"attachment": stored.reference()}, stored)
        [(object_id, kept)] = storage.objects.items()
    assert kept.content == b"".join(pieces)
    assert kept.content_type == "audio/mpeg"
    assert handed == [3, 70_000, 5]  # taken as they came, never joined by us
    assert message == {
        "body": {"attachment": {"name": "speech.mp3", "size": 70_008,
                                "content_type": "audio/mpeg"}},
        "attachments": {"speech.mp3": {
            "url": f"{storage.url}/objects/{object_id}?storage_type=maester",
            "size": 70_008, "content-type": "audio/mpeg"}}}
    assert TOKEN not in repr(message)


def test_a_file_over_the_cap_is_refused_while_it_streams() -> None:
    with ObjectStorageStandIn(TOKEN) as storage:
        store = Attachments(ObjectStorage(storage.url, TOKEN, retry_delays_s=()))
        with pytest.raises(AttachmentTooLargeError):
            store_file(store, "a.wav", iter([b"x" * 600, b"x" * 600]), "audio/wav",
                       max_bytes=1000)
        assert storage.objects == {}
