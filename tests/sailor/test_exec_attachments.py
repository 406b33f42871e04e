"""Attachments in ``exec`` (docs/protocol.md#attachments-in-exec): files in a folder with
``file://`` URLs, read back by the next step; the object storage when one is configured."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import pytest
from elasticio_sailor.attachments import AttachmentError, Attachments, AttachmentTooLargeError
from elasticio_sailor.local_attachments import LocalFileNotAllowedError, LocalFolder

from tests.support.object_storage import ObjectStorageStandIn
from tests.support.recording_server import COMPONENTS, run_cli

COMPONENT = COMPONENTS / "attachments"
TOKEN = "maester-jwt-token-SECRET"


def run_exec(*args: str, env: dict[str, str] | None = None, stdin: str | None = None):
    return run_cli(["exec", *args], env or {}, COMPONENT, stdin=stdin)


def data_payload(stdout: str) -> dict:
    [data] = [event for line in stdout.splitlines()
              if (event := json.loads(line))["event"] == "data"]
    return data["payload"]


def path_of(url: str) -> Path:
    return Path(url2pathname(urlsplit(url).path))


def test_a_chain_of_steps_passes_files_through_a_folder(tmp_path) -> None:
    folder = tmp_path / "out"
    made = run_exec("make_file", "--attachments-dir", str(folder), "--msg", "-",
                    stdin=json.dumps({"body": {"name": "notes.txt", "text": "abc", "repeat": 3}}))
    assert made.returncode == 0, made.stderr
    produced = data_payload(made.stdout)
    entry = produced["attachments"]["notes.txt"]
    assert entry["url"].startswith("file://")
    assert (entry["size"], entry["content-type"]) == (9, "text/plain")
    assert path_of(entry["url"]) == folder / "notes.txt"
    assert (folder / "notes.txt").read_bytes() == b"abcabcabc"
    assert f"exec: attachments are written to {folder} (as asked)" in made.stderr

    read = run_exec("read_files", "--allow-files", str(folder), "--msg", "-",
                    stdin=json.dumps(produced))
    assert read.returncode == 0, read.stderr
    body = data_payload(read.stdout)["body"]
    assert body["read"]["notes.txt"]["size"] == 9
    assert body["notOurs"] == []


def test_without_storage_files_go_to_a_new_temporary_folder_it_names() -> None:
    made = run_exec("make_file", "--msg", "-",
                    stdin=json.dumps({"body": {"name": "a.bin", "text": "x"}}))
    assert made.returncode == 0, made.stderr
    match = re.search(r"exec: attachments are written to (\S+) \(no "
                      r"ELASTICIO_OBJECT_STORAGE_URI\) and emitted as file:// URLs; a later "
                      r"exec reads them with --allow-files (\S+)\n", made.stderr)
    assert match, made.stderr
    folder = Path(match.group(1))
    assert match.group(2) == str(folder)
    try:
        url = data_payload(made.stdout)["attachments"]["a.bin"]["url"]
        assert path_of(url) == folder / "a.bin"
        assert (folder / "a.bin").read_bytes() == b"x"
    finally:
        shutil.rmtree(folder)


def test_with_storage_configured_exec_uploads_there() -> None:
    with ObjectStorageStandIn(TOKEN) as storage:
        env = {"ELASTICIO_OBJECT_STORAGE_URI": storage.url,
               "ELASTICIO_OBJECT_STORAGE_TOKEN": TOKEN, "LOG_LEVEL": "trace"}
        made = run_exec("make_file", "--msg", "-", env=env,
                        stdin=json.dumps({"body": {"name": "a.txt", "text": "hi"}}))
        assert made.returncode == 0, made.stderr
        [object_id] = storage.objects
        produced = data_payload(made.stdout)
        assert produced["attachments"]["a.txt"]["url"] == storage.object_url(object_id)
        read = run_exec("read_files", "--msg", "-", env=env, stdin=json.dumps(produced))
        assert data_payload(read.stdout)["body"]["read"]["a.txt"]["size"] == 2
    assert "file://" not in made.stderr
    assert TOKEN not in made.stdout + made.stderr + read.stdout + read.stderr


# --- the folder itself --------------------------------------------------------------------


@pytest.fixture
def local(tmp_path) -> Iterator[Attachments]:
    return Attachments(local=LocalFolder(tmp_path, writes=True))


def test_same_names_get_numbered_files_and_paths_are_cut_to_the_name(local, tmp_path) -> None:
    urls = [local.upload(name, b"x").url for name in ("a.txt", "a.txt", "../../a.txt", "..")]
    assert [path_of(url).name for url in urls] == ["a.txt", "a-2.txt", "a-3.txt", "attachment"]
    assert all(path_of(url).parent == tmp_path for url in urls)


def test_a_partial_file_is_removed_when_the_cap_is_passed(local, tmp_path) -> None:
    with pytest.raises(AttachmentTooLargeError):
        local.upload("big.bin", iter([b"x" * 10] * 3), max_bytes=25)
    assert list(tmp_path.iterdir()) == []


def test_a_file_over_the_read_cap_is_refused(local, tmp_path) -> None:
    url = local.upload("data.bin", b"x" * 10).url
    with pytest.raises(AttachmentTooLargeError):
        local.open(url, max_bytes=9)
    with local.open(url, max_bytes=10) as stream:
        assert (stream.read(), stream.size) == (b"x" * 10, 10)


def test_only_regular_local_files_are_read(local, tmp_path) -> None:
    assert not local.can_open("file://server/share/a.txt")
    os.mkfifo(tmp_path / "pipe")  # no writer: an open that waited for one would never end
    with pytest.raises(AttachmentError, match="is not a regular file"):
        local.open((tmp_path / "pipe").as_uri())
    devices = Attachments(local=LocalFolder(None, writes=False, readable=[Path("/dev")]))
    with pytest.raises(AttachmentError, match="is not a regular file"):
        devices.open("file:///dev/zero")  # would never end
    with pytest.raises(AttachmentError, match="is not a regular file"):
        local.open(tmp_path.as_uri())
    with pytest.raises(AttachmentError, match="cannot read"):
        local.open((tmp_path / "missing").as_uri())


# --- which files a message may name -------------------------------------------------------


SECRET = b"-----BEGIN OPENSSH PRIVATE KEY----- SECRET-MARKER"


@pytest.fixture
def layout(tmp_path) -> dict[str, Path]:
    """An attachments folder ``att``, a sibling named like it ``att2``, a folder outside,
    and links from inside ``att`` to outside."""
    folders = {name: tmp_path / name for name in ("att", "att2", "outside")}
    for folder in folders.values():
        folder.mkdir()
        (folder / "file.txt").write_bytes(SECRET if folder.name != "att" else b"ours")
    (folders["att"] / "sub").mkdir()
    (folders["att"] / "link.txt").symlink_to(folders["outside"] / "file.txt")
    (folders["att"] / "dirlink").symlink_to(folders["outside"])
    (folders["att"] / "inner-link.txt").symlink_to(folders["att"] / "file.txt")
    return folders


def reader(layout: dict[str, Path], *readable: Path) -> Attachments:
    return Attachments(local=LocalFolder(layout["att"], writes=True, readable=readable))


def refused_unread(attachments: Attachments, url: str) -> str:
    """The error text of opening ``url``; it must refuse, show no content, and point at the
    option that allows a folder."""
    with pytest.raises(LocalFileNotAllowedError) as refused:
        attachments.open(url)
    text = str(refused.value)
    assert "SECRET-MARKER" not in text
    assert "--allow-files DIR" in text
    return text


@pytest.mark.parametrize("tail", [
    "/../outside/file.txt",  # traversal
    "/sub/../../outside/file.txt",
    "/link.txt",  # a symlink to a file outside
    "/dirlink/file.txt",  # through a symlinked folder
    "/%2e%2e/outside/file.txt",  # percent-encoded traversal
    "/%2E%2E%2Foutside%2Ffile.txt",
    "/..%2f..%2f..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
    "/file.txt%00/../../outside/file.txt",  # a NUL cannot cut the path short
])
def test_a_path_that_leaves_the_attachments_folder_is_refused(layout, tail) -> None:
    url = "file://" + str(layout["att"]) + tail
    text = refused_unread(reader(layout), url)
    assert text.startswith("'")  # the path as the message named it, quoted
    assert str(layout["att"]) in text  # and the folder that may be read


@pytest.mark.parametrize("url", [
    "file:///etc/passwd", "file://localhost/etc/passwd", "file:/etc/passwd",
    "file:///%65tc/passwd",
])
def test_an_absolute_path_outside_is_refused(layout, url) -> None:
    refused_unread(reader(layout), url)


def test_a_folder_named_like_a_prefix_of_the_attachments_folder_is_outside(layout) -> None:
    refused_unread(reader(layout), (layout["att2"] / "file.txt").as_uri())
    refused_unread(reader(layout), "file://" + str(layout["att"]) + "2/file.txt")


def test_a_double_encoded_path_is_decoded_once(layout) -> None:
    """``%252e`` is a file named ``%2e``, inside the folder (and missing), not ``..``."""
    url = "file://" + str(layout["att"]) + "/%252e%252e/outside/file.txt"
    with pytest.raises(AttachmentError, match="cannot read") as missing:
        reader(layout).open(url)
    assert not isinstance(missing.value, LocalFileNotAllowedError)


def test_paths_that_stay_inside_are_read(layout) -> None:
    att = str(layout["att"])
    for url in ((layout["att"] / "file.txt").as_uri(), f"file://{att}/sub/../file.txt",
                f"file://{att}/inner-link.txt", f"file://{att}/%66ile.txt"):
        with reader(layout).open(url) as stream:
            assert stream.read() == b"ours", url


def test_a_folder_the_user_allows_is_read_and_only_that_one(layout) -> None:
    allowing = reader(layout, layout["outside"])
    for url in ((layout["outside"] / "file.txt").as_uri(),
                "file://" + str(layout["att"]) + "/link.txt"):
        with allowing.open(url) as stream:
            assert stream.read() == SECRET
    refused_unread(allowing, (layout["att2"] / "file.txt").as_uri())


def test_an_allowed_folder_given_through_a_symlink_is_resolved_too(layout, tmp_path) -> None:
    (tmp_path / "alias").symlink_to(layout["outside"])
    with reader(layout, tmp_path / "alias").open(
            (layout["outside"] / "file.txt").as_uri()) as stream:
        assert stream.read() == SECRET


def test_without_an_attachments_folder_nothing_is_readable_until_one_is_made(tmp_path) -> None:
    (tmp_path / "file.txt").write_bytes(SECRET)
    fresh = Attachments(local=LocalFolder(None, writes=True))
    assert "(none yet)" in refused_unread(fresh, (tmp_path / "file.txt").as_uri())
    url = fresh.upload("made.txt", b"made here").url
    try:
        with fresh.open(url) as stream:  # the temporary folder it made is readable
            assert stream.read() == b"made here"
    finally:
        shutil.rmtree(path_of(url).parent)


def test_exec_refuses_a_replayed_message_naming_a_file_outside(layout) -> None:
    message = {"body": {}, "attachments": {"keys": {"url": (layout["outside"] / "file.txt")
                                                    .as_uri()}}}
    refused = run_exec("read_files", "--attachments-dir", str(layout["att"]), "--msg", "-",
                       stdin=json.dumps(message))
    assert refused.returncode == 1
    [error] = [event["payload"] for line in refused.stdout.splitlines()
               if (event := json.loads(line))["event"] == "error"]
    assert error["name"] == "LocalFileNotAllowedError"
    assert "--allow-files DIR" in error["message"]
    assert "SECRET-MARKER" not in refused.stdout + refused.stderr

    allowed = run_exec("read_files", "--allow-files", str(layout["outside"]), "--msg", "-",
                       stdin=json.dumps(message))
    assert allowed.returncode == 0, allowed.stderr
    assert data_payload(allowed.stdout)["body"]["read"]["keys"]["size"] == len(SECRET)


def test_a_file_name_with_a_percent_sign_is_read_back_as_written(local) -> None:
    url = local.upload("100%25 done.txt", b"done").url
    with local.open(url) as stream:
        assert stream.read() == b"done"
