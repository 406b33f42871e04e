"""Attachments in ``exec`` (docs/protocol.md#attachments-in-exec): files in a folder with
``file://`` URLs, read back by the next step; the object storage when one is configured."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import pytest
from elasticio_sailor.attachments import AttachmentError, Attachments, AttachmentTooLargeError
from elasticio_sailor.local_attachments import LocalFolder

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

    read = run_exec("read_files", "--msg", "-", stdin=json.dumps(produced))
    assert read.returncode == 0, read.stderr
    body = data_payload(read.stdout)["body"]
    assert body["read"]["notes.txt"]["size"] == 9
    assert body["notOurs"] == []


def test_without_storage_files_go_to_a_new_temporary_folder_it_names() -> None:
    made = run_exec("make_file", "--msg", "-",
                    stdin=json.dumps({"body": {"name": "a.bin", "text": "x"}}))
    assert made.returncode == 0, made.stderr
    match = re.search(r"exec: attachments are written to (\S+) \(no "
                      r"ELASTICIO_OBJECT_STORAGE_URI\) and emitted as file:// URLs", made.stderr)
    assert match, made.stderr
    folder = Path(match.group(1))
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
    with pytest.raises(AttachmentError, match="is not a regular file"):
        local.open("file:///dev/zero")  # would never end
    for path in (tmp_path, tmp_path / "missing"):
        with pytest.raises(AttachmentError, match="cannot read"):
            local.open(path.as_uri())
