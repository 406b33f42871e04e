"""File inputs: choosing the file (attachment name, URL, the only one that fits) and
reading it as a re-openable stream, against the object storage stand-in on 127.0.0.1."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticio_sailor.attachments import Attachments
from elasticio_sailor.local_attachments import LocalFolder

from lib.attachments.downloads import DownloadPolicy, Downloads
from lib.attachments.inputs import FileInputError, FileKind, choose_file, open_file
from lib.attachments.object_storage import ObjectStorage
from lib.errors import AttachmentNotAllowedError, AttachmentTooLargeError, UserError
from lib.openai.errors import CallInterruptedError
from tests.support.object_storage import ObjectStorageStandIn

TOKEN = "storage-TOKEN-0123456789-secret"
AUDIO = FileKind("audio file", 1000, lambda name, media_type: name.endswith(".mp3")
                 or (media_type or "").startswith("audio/"), "mp3")
ANY = FileKind("file", 1000)


def entry(url: str = "https://files.example.com/a", **extra: object) -> dict[str, object]:
    return {"url": url, **extra}


def test_an_attachment_is_chosen_by_name() -> None:
    attachments = {"call.mp3": entry(size=10, **{"content-type": "audio/mpeg; x=1"}),
                   "b.mp3": entry()}
    chosen = choose_file(" call.mp3 ", attachments, place="file", kind=AUDIO)
    assert (chosen.name, chosen.size, chosen.media_type, chosen.attachment) == (
        "call.mp3", 10, "audio/mpeg", True)


def test_a_url_is_taken_as_it_is() -> None:
    chosen = choose_file("https://cdn.example.com/x/talk.mp3?sig=1", {}, place="file",
                         kind=AUDIO)
    assert (chosen.name, chosen.attachment) == ("talk.mp3", False)


def test_without_a_name_the_only_fitting_attachment_is_used() -> None:
    attachments = {"notes.txt": entry(**{"content-type": "text/plain"}),
                   "voice": entry(**{"content-type": "audio/ogg"})}
    assert choose_file(None, attachments, place="file", kind=AUDIO).name == "voice"
    assert choose_file("", {"only.pdf": entry()}, place="file", kind=ANY).name == "only.pdf"


@pytest.mark.parametrize(("value", "attachments", "says"), [
    ("missing.mp3", {"a.mp3": entry()},
     ("file: the message has no attachment named 'missing.mp3' (attachments: 'a.mp3'); "
     "give an attachment's name or a URL")),
    (None, {}, ("file: give an attachment's name or a URL: the message has no audio file "
               "among its attachments (it has none)")),
    (None, {"a.txt": entry()}, "no audio file among its attachments (attachments: 'a.txt')"),
    (None, {"a.mp3": entry(), "b.mp3": entry()},
     "file: the message has 2 attachments that are audio files ('a.mp3', 'b.mp3')"),
    ("notes.txt", {"notes.txt": entry(**{"content-type": "text/plain"})},
     "file: 'notes.txt' (text/plain) is not an audio file the API takes; it takes mp3"),
    ("x.mp3", {"x.mp3": {"size": 3}}, "file: the attachment 'x.mp3' has no url"),
    ("file:///etc/passwd", {}, ("file: a file: URL is read only as one of the message's "
                               "attachments")),
])
def test_what_cannot_be_used_is_named(value: str | None, attachments: dict, says: str) -> None:
    with pytest.raises(FileInputError) as caught:
        choose_file(value, attachments, place="file", kind=AUDIO)
    assert says in str(caught.value)
    assert isinstance(caught.value, UserError)


def test_a_declared_size_over_the_limit_is_refused_before_any_download() -> None:
    with pytest.raises(AttachmentTooLargeError,
                       match=r"file: the audio file 'a\.mp3' has 5,000 bytes; the API "
                             r"takes at most 1,000"):
        choose_file("a.mp3", {"a.mp3": entry(size=5000)}, place="file", kind=AUDIO)


@pytest.fixture
def storage() -> Iterator[ObjectStorageStandIn]:
    with ObjectStorageStandIn(TOKEN) as standin:
        yield standin


def storage_downloads(storage: ObjectStorageStandIn) -> Downloads:
    policy = DownloadPolicy(storage=ObjectStorage(base_url=storage.url, token=TOKEN))
    return Downloads(policy, idle_timeout_s=5, sleep=lambda _s: None)


def test_a_storage_attachment_is_streamed_and_opened_anew_for_each_attempt(
        storage: ObjectStorageStandIn) -> None:
    content = b"ID3" + b"\x00" * 500
    url = storage.object_url(storage.put(content, "audio/mpeg"))
    chosen = choose_file(None, {"call.mp3": entry(url)}, place="file", kind=AUDIO)
    with open_file(chosen, AUDIO, storage_downloads(storage)) as source:
        assert (source.size, source.media_type) == (len(content), "audio/mpeg")
        assert len(storage.calls_to("GET")) == 1  # started, to check size and type
        assert b"".join(source.open()) == content  # the started download
        assert b"".join(source.open()) == content  # a retry downloads again
    assert len(storage.calls_to("GET")) == 2
    assert all(call.headers.get("authorization") == f"Bearer {TOKEN}"
               for call in storage.calls_to("GET"))


def test_a_url_whose_answer_is_not_of_the_kind_is_refused_before_sending(
        storage: ObjectStorageStandIn) -> None:
    url = storage.object_url(storage.put(b"hello", "text/plain"))
    chosen = choose_file(url, {}, place="file", kind=AUDIO)
    with pytest.raises(FileInputError, match=r"\(text/plain\) is not an audio file"):
        open_file(chosen, AUDIO, storage_downloads(storage))


def test_a_source_larger_than_the_limit_is_refused_by_its_declared_length(
        storage: ObjectStorageStandIn) -> None:
    url = storage.object_url(storage.put(b"x" * 2000, "audio/mpeg"))
    chosen = choose_file("a.mp3", {"a.mp3": entry(url)}, place="file", kind=AUDIO)
    with pytest.raises(AttachmentTooLargeError, match="larger than the audio file limit"):
        open_file(chosen, AUDIO, storage_downloads(storage))


def test_an_internal_url_goes_through_the_download_policy() -> None:
    chosen = choose_file("http://127.0.0.1:9/a.mp3", {}, place="file", kind=AUDIO)
    with pytest.raises(AttachmentNotAllowedError, match=r"^file: this URL may not be"):
        open_file(chosen, AUDIO, Downloads(DownloadPolicy(), sleep=lambda _s: None))


def test_a_data_url_is_read_from_the_message() -> None:
    chosen = choose_file("data:audio/wav;base64,UklGRg==", {}, place="file", kind=AUDIO)
    with open_file(chosen, AUDIO, Downloads(DownloadPolicy())) as source:
        assert (source.size, source.media_type) == (4, "audio/wav")
        assert b"".join(source.open()) == b"RIFF"


def test_a_file_url_is_read_by_the_runtime_when_it_can(tmp_path: Path) -> None:
    (tmp_path / "hello.mp3").write_bytes(b"ID3hello")
    local = Attachments(local=LocalFolder(tmp_path, writes=True))
    url = (tmp_path / "hello.mp3").as_uri()
    chosen = choose_file(None, {"hello.mp3": entry(url)}, place="file", kind=AUDIO)
    with open_file(chosen, AUDIO, Downloads(DownloadPolicy()), local=local) as source:
        assert source.size == 8
        assert b"".join(source.open()) == b"ID3hello"
    task_mode = Attachments()  # no local files: a file URL is refused like any other scheme
    with pytest.raises(UserError, match="unsupported URL scheme 'file'"):
        open_file(chosen, AUDIO, Downloads(DownloadPolicy()), local=task_mode)


def test_a_shutdown_stops_the_upload_between_two_chunks(storage: ObjectStorageStandIn) -> None:
    url = storage.object_url(storage.put(b"a" * 200_000, "audio/mpeg"))
    big_audio = FileKind("audio file", 10**6, AUDIO.fits)
    chosen = choose_file(url, {}, place="file", kind=big_audio)
    stop = threading.Event()
    with open_file(chosen, big_audio, storage_downloads(storage), stop=stop) as source:
        chunks = source.open()
        next(chunks)
        stop.set()
        with pytest.raises(CallInterruptedError, match="step is shutting down"):
            next(chunks)
