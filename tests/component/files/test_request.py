"""Building the Upload File requests and naming the file."""

from __future__ import annotations

import pytest

from lib.attachments.inputs import name_in_url
from lib.files.attachments import upload_file_name
from lib.files.output import upload_output
from lib.files.request import upload_fields, vector_store_file_request, vector_store_id_of


def test_the_form_has_purpose_and_expiry_but_none_of_our_own_fields() -> None:
    body = {"file": "report.pdf", "filename": "Q3.pdf", "purpose": "assistants",
            "expires_after": {"anchor": "created_at", "seconds": 3600},
            "vector_store_id": "vs_1", "attributes": {"year": 2025},
            "chunking_strategy": {"type": "auto"}}
    assert upload_fields(body) == [
        ("purpose", "assistants"), ("expires_after[anchor]", "created_at"),
        ("expires_after[seconds]", "3600")]


def test_the_vector_store_file_carries_attributes_and_chunking_when_given() -> None:
    body = {"attributes": {"year": 2025, "draft": False}, "chunking_strategy": None}
    assert vector_store_file_request("file-1", body) == {
        "file_id": "file-1", "attributes": {"year": 2025, "draft": False}}


@pytest.mark.parametrize(("value", "found"), [
    ("vs_1", "vs_1"), ("  vs_2 ", "vs_2"), ("", None), ("   ", None), (None, None), (3, None)])
def test_a_blank_vector_store_id_means_none(value: object, found: str | None) -> None:
    assert vector_store_id_of({"vector_store_id": value}) == found


@pytest.mark.parametrize(("given", "source", "name"), [
    ("Q3.pdf", "report.pdf", "Q3.pdf"), (None, "report.pdf", "report.pdf"),
    ("  ", "", "file"), ("../../etc/passwd", "x", "passwd"), ("C:\\temp\\a.txt", "", "a.txt"),
    (None, "dir/", "file"), ("a\r\nb.pdf", "", "ab.pdf"), ("\x00\x7f", "", "file")])
def test_the_upload_is_named_by_the_body_then_the_source(given: str | None, source: str,
                                                         name: str) -> None:
    assert upload_file_name(given, source) == name


@pytest.mark.parametrize(("url", "name"), [
    ("https://example.com/files/Bericht%20Q3.pdf?sig=x", "Bericht Q3.pdf"),
    ("https://example.com/", ""), ("http://[::1", "")])
def test_a_url_names_its_file_by_the_last_path_segment(url: str, name: str) -> None:
    assert name_in_url(url) == name


def test_the_output_has_the_file_and_the_vector_store_file_or_null() -> None:
    assert upload_output({"id": "file-1"}, None) == {"file": {"id": "file-1"},
                                                      "vector_store_file": None}
