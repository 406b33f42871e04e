"""The one redaction step for every text that leaves the component.

Error messages, every field of an error payload and log lines go through a
:class:`Redactor` (or :func:`redact`) that knows the secrets of the call: the API key, the
object storage token, passwords and queries of URLs (signed URLs carry their signature in
the query). A secret is found in every form it is commonly printed in:

- plain;
- backslash-escaped, as ``repr()`` of a str or of bytes prints it (requests shows a header
  value with a newline as ``\\n``);
- URL-encoded (upper- and lower-case hex, with and without ``/`` kept);
- JSON-escaped (with and without ``ensure_ascii``);

and these forms nested two deep (a JSON document quoting a repr, ...). A text whose end is
the start of a secret (a server that cut its echo of the key) loses that end too.

Cut texts only after redacting them (:func:`cut`, :meth:`Redactor.text`): a cut first can
leave a secret's head that no longer matches the whole secret.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit, urlunsplit

REDACTED = "***"
# A secret this short would blank ordinary words; real keys and tokens are far longer.
MIN_SECRET_CHARS = 4
# Single query values shorter than this (expiry times, flags) are not secrets on their own.
MIN_QUERY_VALUE_CHARS = 8
# The shortest head of a secret redacted when a text ends with it.
MIN_PARTIAL_CHARS = 8
DEFAULT_TEXT_LIMIT = 300
DEFAULT_URL_LIMIT = 200
ELLIPSIS = "…"
# What requests keeps unquoted when it re-quotes a URL it sends.
_URL_SAFE = "!#$%&'()*+,/:;=?@[]~"
# user:password@ after a scheme, anywhere in a text
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s?#@'\"<>]*@")
_PERCENT_HEX = re.compile(r"%[0-9A-F]{2}")


def _repr_form(text: str) -> str:
    return repr(text)[1:-1]


def _bytes_repr_form(text: str) -> str:
    return repr(text.encode("utf-8", "backslashreplace"))[2:-1]


def _unicode_escape_form(text: str) -> str:
    return text.encode("unicode_escape").decode("ascii")


def _json_form(text: str) -> str:
    return json.dumps(text)[1:-1]


def _json_unicode_form(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)[1:-1]


def _quote_all(text: str) -> str:
    return quote(text, safe="")


def _quote_path(text: str) -> str:
    return quote(text)


def _requote(text: str) -> str:
    return quote(text, safe=_URL_SAFE)


def _lower_hex(text: str) -> str:
    return _PERCENT_HEX.sub(lambda match: match.group(0).lower(), text)


_ENCODINGS: tuple[Callable[[str], str], ...] = (
    _repr_form, _bytes_repr_form, _unicode_escape_form, _json_form, _json_unicode_form,
    _quote_all, _quote_path, _requote, quote_plus,
)


@functools.lru_cache(maxsize=256)
def printed_forms(secret: str) -> frozenset[str]:
    """Every form of `secret` searched for (empty for a secret too short to search).
    Cached: the same key and token come back with every message."""
    if len(secret) < MIN_SECRET_CHARS:
        return frozenset()
    forms = {secret}
    for _depth in range(2):
        forms |= {encode(form) for form in forms for encode in _ENCODINGS}
    forms |= {_lower_hex(form) for form in forms}
    return frozenset(form for form in forms if len(form) >= MIN_SECRET_CHARS)


@functools.lru_cache(maxsize=256)
def _compiled(secrets: tuple[str, ...]) -> tuple[tuple[str, ...], re.Pattern[str] | None]:
    """All forms of `secrets`, longest first, and one pattern finding any of them."""
    forms = tuple(sorted({f for s in secrets for f in printed_forms(s)}, key=len,
                         reverse=True))
    return forms, (re.compile("|".join(map(re.escape, forms))) if forms else None)


def url_secrets(url: str | None) -> tuple[str, ...]:
    """What a URL carries that must not be shown: user info, query (whole and each value)
    and fragment."""
    if not url:
        return ()
    try:
        parts = urlsplit(url)
    except ValueError:
        return ()
    found: list[str] = []
    netloc = parts.netloc
    if "@" in netloc:
        userinfo = netloc.rsplit("@", 1)[0]
        found += [userinfo, *userinfo.split(":", 1)]
    for piece in (parts.query, parts.fragment):
        if piece:
            found.append(piece)
            values = [value for _name, value in parse_qsl(piece, keep_blank_values=True)]
            values += [value for pair in piece.split("&") for value in pair.split("=", 1)[1:]]
            found += [value for value in values if len(value) >= MIN_QUERY_VALUE_CHARS]
    return tuple(found)


class Redactor:
    """Replaces the secrets it was given, in all their printed forms, by ``***``.

    Built once per client (the secrets of a call do not change); URLs' secrets come from
    :func:`url_secrets`. Thread-safe: it is never changed after construction, only
    extended into a new one by :meth:`with_secrets`.
    """

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self.secrets: tuple[str, ...] = tuple(
            dict.fromkeys(s for s in secrets if s and len(s) >= MIN_SECRET_CHARS))
        self._forms, self._pattern = _compiled(self.secrets)

    def with_secrets(self, secrets: Iterable[str | None]) -> Redactor:
        """A redactor that also knows `secrets`."""
        return Redactor((*self.secrets, *secrets))

    def with_url(self, url: str | None) -> Redactor:
        """A redactor that also knows the secrets of `url` (see :func:`url_secrets`)."""
        return self.with_secrets(url_secrets(url))

    def redact(self, text: str) -> str:
        """`text` without any secret nor the user info of any URL in it."""
        text = _URL_USERINFO.sub(r"\1", text)
        if self._pattern is None:
            return text
        text = self._pattern.sub(REDACTED, text)
        return self._redact_cut_head(text)

    def text(self, text: str, limit: int = DEFAULT_TEXT_LIMIT) -> str:
        """Redacted, then cut to `limit` characters: the form for messages and logs."""
        return cut(self.redact(text), limit)

    def __call__(self, text: str) -> str:
        return self.redact(text)

    def __repr__(self) -> str:
        return f"Redactor({len(self.secrets)} secrets)"

    def _redact_cut_head(self, text: str) -> str:
        """A text that ends with the head of a secret (someone cut it) loses that head."""
        for form in self._forms:
            longest = min(len(form) - 1, len(text))
            for size in range(longest, MIN_PARTIAL_CHARS - 1, -1):
                if text.endswith(form[:size]):
                    return text[:-size] + REDACTED
        return text


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every secret (in every printed form) replaced by ``***``."""
    return Redactor(secrets).redact(text)


def cut(text: str, limit: int = DEFAULT_TEXT_LIMIT) -> str:
    """At most `limit` characters, ending in ``…`` when cut. Cut only redacted text."""
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    return text[: limit - 1] + ELLIPSIS


def url_for_humans(url: str, limit: int = DEFAULT_URL_LIMIT) -> str:
    """A URL safe to show: scheme, host, port and path; no user info, query or fragment
    (they may carry credentials and signatures). Never raises; ``data:`` URLs show only
    their scheme; the result is cut to `limit` characters."""
    text = url.strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        return "<invalid URL>"
    scheme = parts.scheme.lower()
    if scheme == "data":
        return "data:..."
    host = parts.netloc.rsplit("@", 1)[-1]
    if not scheme and not host:
        return cut(parts.path, limit)
    return cut(urlunsplit((scheme, host.lower(), parts.path, "", "")), limit)
