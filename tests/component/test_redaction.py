"""The one redaction step: planted secrets must not survive in any printed form."""

from __future__ import annotations

import json
import re
from urllib.parse import quote, quote_plus

import pytest

from lib.redaction import (
    REDACTED,
    Redactor,
    cut,
    printed_forms,
    redact,
    url_for_humans,
    url_secrets,
)

KEY = "sk-MARKERKEY/with+odd chars&=é0123"
KEY_WITH_NEWLINE = "sk-MARKER\nNEWLINEKEY0123"
TOKEN = "storage-MARKER-TOKEN-abcdef"


def printed_ways(secret: str) -> list[str]:
    """How libraries print a secret inside their messages."""
    return [
        secret,
        repr(secret),
        repr(secret.encode("utf-8")),
        str({"Authorization": f"Bearer {secret}"}),  # requests' header dict repr
        json.dumps({"error": secret}),
        json.dumps({"error": secret}, ensure_ascii=False),
        json.dumps(json.dumps({"error": secret})),  # a JSON string quoting JSON
        json.dumps(repr(secret)),
        quote(secret),
        quote(secret, safe=""),
        re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(secret, safe="")),
        quote_plus(secret),
        f"https://host/path?key={quote(secret, safe='')}",
    ]


@pytest.mark.parametrize("secret", [KEY, KEY_WITH_NEWLINE, TOKEN])
def test_no_printed_form_of_a_secret_survives(secret: str) -> None:
    redactor = Redactor([secret])
    for printed in printed_ways(secret):
        text = f"error: {printed} (end)"
        result = redactor.redact(text)
        assert REDACTED in result, printed
        assert "MARKER" not in result, (printed, result)


def test_repr_of_a_key_with_a_newline_as_requests_prints_it() -> None:
    # requests: "Invalid leading whitespace, reserved character(s), or return character(s)
    # in header value: 'Bearer sk-...\\n...'"
    message = f"Invalid return character in header value: {'Bearer ' + KEY_WITH_NEWLINE!r}"
    assert "MARKER" not in redact(message, [KEY_WITH_NEWLINE])


def test_all_secrets_are_replaced_and_the_rest_is_kept() -> None:
    text = f"key {KEY} token {TOKEN} done"
    assert redact(text, [KEY, TOKEN, None, ""]) == f"key {REDACTED} token {REDACTED} done"


def test_a_text_that_ends_with_the_head_of_a_secret_loses_it() -> None:
    # a server that cut its own echo of the key
    text = "invalid key " + KEY[:12]
    assert redact(text, [KEY]) == "invalid key " + REDACTED


def test_a_short_common_tail_is_not_taken_for_a_secret() -> None:
    assert redact("the key sk-M", [KEY]) == "the key sk-M"


def test_secrets_too_short_to_search_are_ignored_not_blanking_words() -> None:
    assert printed_forms("ab") == frozenset()
    assert redact("a b ab", ["ab"]) == "a b ab"


def test_user_info_of_any_url_in_a_text_is_dropped() -> None:
    text = "bad scheme in htp://admin:MARKERPW@proxy.example/v1 and https://u@h/x"
    result = redact(text, [])
    assert "MARKERPW" not in result
    assert "admin" not in result
    assert "htp://proxy.example/v1" in result
    assert "https://h/x" in result


def test_cut_happens_after_redaction_so_a_straddling_secret_is_gone() -> None:
    text = "x" * 290 + KEY + "y" * 50
    result = Redactor([KEY]).text(text, 300)
    assert "MARKER" not in result
    assert len(result) <= 300
    assert result.endswith("…")


def test_cut_keeps_short_texts_and_marks_cut_ones() -> None:
    assert cut("short", 10) == "short"
    assert cut("0123456789abc", 10) == "012345678…"
    assert len(cut("z" * 1000, 300)) == 300


def test_url_secrets_are_the_user_info_the_query_and_its_values() -> None:
    url = ("https://user:MARKERPW@bucket.s3.example/a.pdf?"
           "X-Amz-Expires=3600&X-Amz-Signature=MARKERSIGNATURE0123#frag-MARKER")
    found = url_secrets(url)
    assert "MARKERSIGNATURE0123" in found
    assert "MARKERPW" in found
    assert "3600" not in found  # short values alone would blank ordinary numbers
    redactor = Redactor().with_url(url)
    # urllib3 prints the path and query of the request it gave up on
    message = ("HTTPSConnectionPool(host='bucket.s3.example', port=443): Max retries exceeded "
               "with url: /a.pdf?X-Amz-Expires=3600&X-Amz-Signature=MARKERSIGNATURE0123")
    assert "MARKER" not in redactor.redact(message)
    assert "MARKER" not in redactor.redact("signature MARKERSIGNATURE0123 expired after 3600 s")


@pytest.mark.parametrize(("url", "shown"), [
    ("https://u:p@Example.COM:8443/a/b.pdf?sig=1#f", "https://example.com:8443/a/b.pdf"),
    ("http://[::1]:8080/x?y=1", "http://[::1]:8080/x"),
    ("http://host:99999/x?q", "http://host:99999/x"),  # invalid port: still shown, no error
    ("data:image/png;base64,AAAA", "data:..."),
    ("  https://h/p?q  ", "https://h/p"),
    ("http://[::1/x", "<invalid URL>"),
])
def test_url_for_humans_drops_credentials_query_and_fragment(url: str, shown: str) -> None:
    assert url_for_humans(url) == shown


def test_url_for_humans_is_cut() -> None:
    assert len(url_for_humans("https://" + "a" * 100_000 + ".example/")) == 200


def test_a_redactor_extended_keeps_what_it_knew() -> None:
    base = Redactor([KEY])
    extended = base.with_url(f"https://files.example/a.pdf?sig={TOKEN}")
    assert "MARKER" not in extended.redact(f"{KEY} {TOKEN}")
    assert TOKEN in base.redact(TOKEN)  # the original is not changed
    assert "MARKER" not in repr(extended)
