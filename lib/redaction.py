"""The one redaction step for every text that leaves the component.

Error messages, every field of an error payload and log lines go through a
:class:`Redactor` that knows the secrets of the call: the API key, the object storage
token, passwords and queries of URLs (signed URLs carry their signature in the query).
A secret is found in every form it is commonly printed in:

- plain;
- backslash-escaped, as ``repr()`` of a str or of bytes prints it (requests shows a header
  value with a newline as ``\\n``);
- URL-encoded (upper- and lower-case hex, with and without ``/`` kept);
- JSON-escaped (with and without ``ensure_ascii``);

and, for the process's own secrets (API key, storage token), these forms nested two deep
(a JSON document quoting a repr, ...). A text whose end is the start of a secret (a server
that cut its echo of the key) loses that end too. The user info of any URL in a text
(``scheme://user:password@``) is dropped.

Bounds: texts come from hostile servers and message bodies, and Python's regular
expression engine holds the GIL while it runs, so every step is linear in the text and
capped:

- :meth:`Redactor.text` cuts the text to a window before anything is searched: the
  characters shown plus the longest form searched, so that a secret starting in the shown
  part ends inside the window; the head of a secret that the window's end cut is dropped
  like a cut echo, and so is an authority it cut (it may be user info).
- No pattern that backtracks searches the text: each form is a substring search, and the
  user info pattern reads each character at most twice (see :func:`drop_user_info`).
- A secret is searched by its first :data:`MAX_SECRET_CHARS` characters and a form by its
  first :data:`MAX_FORM_CHARS`; where the head of a longer one is found the text ends
  (the rest of the secret would follow).
- The forms of the process's own secrets are cached (few, and the same for every message);
  a URL's secrets belong to one message: never cached, at most :data:`MAX_URL_SECRETS`,
  searched in their one-deep forms.

The process's own secrets are registered in :data:`OWN_SECRETS` where they come in (the
API client registers its key, the downloads the storage token), so that a text can be
redacted by code that was not handed them: every API error redacts its fields with them
in its constructor (``lib.openai.errors``), whoever builds it.
"""

from __future__ import annotations

import functools
import heapq
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from urllib.parse import quote, quote_plus, unquote_plus, urlunsplit

from lib.urls import split_url

REDACTED = "***"
# A secret this short would blank ordinary words; real keys and tokens are far longer.
MIN_SECRET_CHARS = 4
# Single query values shorter than this (expiry times, flags) are not secrets on their own.
MIN_QUERY_VALUE_CHARS = 8
# The shortest head of a secret redacted when a text ends with it.
MIN_PARTIAL_CHARS = 8
# Longer secrets and forms are searched by their head (an OpenAI key has about 170).
MAX_SECRET_CHARS = 256
MAX_FORM_CHARS = 1024
# One URL's secrets: user info (whole, name, password), query, fragment, longest values.
MAX_URL_SECRETS = 12
# Places in a form tried as the start of a cut echo at a text's end (a random secret has
# one at most; only a secret that repeats itself has more).
MAX_PARTIAL_CHECKS = 16
# The process's own secrets whose forms are kept (the cached clients' keys, the token).
MAX_CACHED_SECRETS = 32
DEFAULT_TEXT_LIMIT = 300
DEFAULT_URL_LIMIT = 200
ELLIPSIS = "…"
# What requests keeps unquoted when it re-quotes a URL it sends.
_URL_SAFE = "!#$%&'()*+,/:;=?@[]~"
# What ends an authority after "://" as URLs are printed in texts, and its user info:
# all of it up to its last "@".
_AUTHORITY_END = re.compile(r"[/\s?#'\"<>]")
_USER_INFO = re.compile(r"://[^/\s?#'\"<>]*@")
_PERCENT_HEX = re.compile(r"%[0-9A-F]{2}")
# A value of a query: what follows the first "=" of a pair up to the next "&".
_QUERY_VALUE = re.compile(r"(?:^|&)[^&=]*=([^&]*)")
_VALUE_HEAD_CHARS = 16 * MAX_SECRET_CHARS


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


def printed_forms(secret: str, depth: int = 2) -> frozenset[str]:
    """Every form of `secret` (of its first MAX_SECRET_CHARS characters) searched for,
    the encodings nested `depth` deep; empty for a secret too short to search."""
    if len(secret) < MIN_SECRET_CHARS:
        return frozenset()
    forms = {secret[:MAX_SECRET_CHARS]}
    for _depth in range(depth):
        forms |= {encode(form) for form in forms for encode in _ENCODINGS}
    forms |= {_lower_hex(form) for form in forms}
    return frozenset(form for form in forms if len(form) >= MIN_SECRET_CHARS)


# The forms of one secret as searched: (replaced where found, heads where the text ends).
_Forms = tuple[frozenset[str], frozenset[str]]


def _searched_forms(secret: str, depth: int) -> _Forms:
    forms = printed_forms(secret, depth)
    if len(secret) > MAX_SECRET_CHARS:
        return frozenset(), frozenset(form[:MAX_FORM_CHARS] for form in forms)
    return (frozenset(form for form in forms if len(form) <= MAX_FORM_CHARS),
            frozenset(form[:MAX_FORM_CHARS] for form in forms if len(form) > MAX_FORM_CHARS))


@functools.lru_cache(maxsize=MAX_CACHED_SECRETS)
def _own_secret_forms(secret: str) -> _Forms:
    """The process's own secrets (API key, storage token): the same for every message."""
    return _searched_forms(secret, depth=2)


def url_secrets(url: str | None) -> tuple[str, ...]:
    """What a URL carries that must not be shown: its user info (whole, name and
    password), query and fragment (whole), and their longest values (as written and
    decoded). At most MAX_URL_SECRETS, found in one pass that keeps no list of values."""
    if not url:
        return ()
    try:
        parts = split_url(url)
    except ValueError:
        return ()
    found: list[str] = []
    if "@" in parts.netloc:
        userinfo = parts.netloc.rsplit("@", 1)[0]
        found += [userinfo, *userinfo.split(":", 1)]
    pieces = [piece for piece in (parts.query, parts.fragment) if piece]
    found += pieces
    for value in heapq.nlargest(MAX_URL_SECRETS, _query_values(pieces), key=_length):
        # a head long enough to be searched as a head, decoded too (an escaped character
        # takes at most 12 characters)
        head = value.string[value.start(1): value.start(1) + _VALUE_HEAD_CHARS]
        found += [head, unquote_plus(head)]
    kept = dict.fromkeys(secret for secret in found if len(secret) >= MIN_SECRET_CHARS)
    return tuple(kept)[:MAX_URL_SECRETS]


def _query_values(pieces: Iterable[str]) -> Iterator[re.Match[str]]:
    """The values of ``name=value&...`` long enough to be secrets, one at a time and
    uncopied."""
    for piece in pieces:
        for value in _QUERY_VALUE.finditer(piece):
            if _length(value) >= MIN_QUERY_VALUE_CHARS:
                yield value


def _length(value: re.Match[str]) -> int:
    return value.end(1) - value.start(1)


class Redactor:
    """Replaces the secrets it was given, in all their printed forms, by ``***``.

    `secrets` are the process's own (API key, storage token: their forms are cached);
    `url` is one message's URL, whose secrets (see :func:`url_secrets`) are not.
    Thread-safe: never changed after construction.
    """

    def __init__(self, secrets: Iterable[str | None] = (), url: str | None = None) -> None:
        self._own = tuple(dict.fromkeys(
            s for s in secrets if s and len(s) >= MIN_SECRET_CHARS))
        forms = [_own_secret_forms(secret) for secret in self._own]
        forms += [_searched_forms(secret, depth=1) for secret in url_secrets(url)]
        self._count = len(forms)
        self._whole = tuple(sorted(frozenset().union(*(whole for whole, _ in forms)),
                                   key=len, reverse=True))  # a longer form first
        self._heads = tuple(frozenset().union(*(heads for _, heads in forms)))
        self._margin = max(map(len, (*self._whole[:1], *self._heads)), default=0)

    def with_url(self, url: str | None) -> Redactor:
        """A redactor that also knows the secrets of `url` (see :func:`url_secrets`)."""
        return Redactor(self._own, url)

    def text(self, text: str, limit: int = DEFAULT_TEXT_LIMIT, *,
             join_lines: bool = False, one_line: bool = False) -> str:
        """At most `limit` characters of `text`, redacted: the form for messages and logs.

        Only a window of `text` is searched (see the module's bounds). `join_lines`
        removes the line breaks first (the lines of one event-stream event: a secret may
        be split across them); `one_line` shows each run of whitespace as one space.
        """
        if limit <= 0:
            return ""
        end = limit + self._margin
        if join_lines:
            raw = text[: 2 * end]
            window = raw.replace("\n", "")
            clipped = len(raw) < len(text) or len(window) > end
            window = window[:end]
        else:
            window = text[:end]
            clipped = len(window) < len(text)
        shown = self._redact(window, clipped)
        if one_line:
            shown = " ".join(shown.split())
        if clipped:
            return shown[: limit - 1] + ELLIPSIS
        return cut(shown, limit)

    def redact(self, text: str) -> str:
        """All of `text` redacted, uncut (linear too; texts shown go through :meth:`text`)."""
        return self._redact(text, clipped=False)

    def __repr__(self) -> str:
        return f"Redactor({self._count} secrets)"

    def _redact(self, text: str, clipped: bool) -> str:
        """`text` without its secrets and the user info of its URLs; a `clipped` text (the
        window of a longer one) also loses what its end may have cut."""
        ends = [at for head in self._heads if (at := text.find(head)) >= 0]
        if ends:
            text = text[: min(ends)] + REDACTED
            clipped = False  # the window's end is gone
        for form in self._whole:
            if form in text:
                text = text.replace(form, REDACTED)
        return self._drop_cut_head(drop_user_info(text, clipped))

    def _drop_cut_head(self, text: str) -> str:
        """A text that ends with the head of a secret (someone cut it) loses that head."""
        for form in (*self._whole, *self._heads):
            size = _cut_head_size(text, form)
            if size:
                return text[:-size] + REDACTED
        return text


def _cut_head_size(text: str, form: str) -> int:
    """The length of the longest head of `form` (at least MIN_PARTIAL_CHARS, shorter than
    `form`) that `text` ends with, 0 for none. Tries the places in `form` where the text's
    last MIN_PARTIAL_CHARS characters occur, at most MAX_PARTIAL_CHECKS of them."""
    last = text[-MIN_PARTIAL_CHARS:]
    if len(last) < MIN_PARTIAL_CHARS:
        return 0
    end = min(len(form) - 1, len(text))
    for _check in range(MAX_PARTIAL_CHECKS):
        at = form.rfind(last, 0, end)
        if at < 0:
            return 0
        size = at + MIN_PARTIAL_CHARS
        if text.endswith(form[:size]):
            return size
        end = size - 1
    return 0


def drop_user_info(text: str, clipped: bool = False) -> str:
    """`text` without the user info (``user:password@``) after any ``://`` in it; a
    `clipped` text (the window of a longer one) also loses the authority its end cut (it
    may be user info).

    Linear: the pattern is one run of a character class after the literal ``://``; the
    run is read once and given back once (to its last ``@``), and it ends at the latest
    at the ``/`` of the next ``://``, so no two runs overlap.
    """
    text = _USER_INFO.sub("://", text)
    if clipped:
        mark = text.rfind("://")
        if mark >= 0 and _AUTHORITY_END.search(text, mark + 3) is None:
            text = text[: mark + 3]
    return text


class OwnSecrets:
    """The process's own secrets (the API keys of its clients, the storage token): process-
    wide facts, the latest :data:`MAX_CACHED_SECRETS` kept. Thread-safe; `redactor` is a
    snapshot that later registrations do not change."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: OrderedDict[str, None] = OrderedDict()
        self._redactor = Redactor()

    def register(self, *secrets: str | None) -> None:
        """From now on, `redactor()` knows `secrets` (those too short to search are left)."""
        wanted = [s for s in secrets if s and len(s) >= MIN_SECRET_CHARS]
        with self._lock:
            if all(secret in self._secrets for secret in wanted):
                return
            for secret in wanted:
                self._secrets[secret] = None
                self._secrets.move_to_end(secret)
            while len(self._secrets) > MAX_CACHED_SECRETS:
                self._secrets.popitem(last=False)
            self._redactor = Redactor(self._secrets)

    def redactor(self) -> Redactor:
        """A redactor of every secret registered so far."""
        return self._redactor

    def clear(self) -> None:
        """Forget every secret (tests; credentials rotated)."""
        with self._lock:
            self._secrets.clear()
            self._redactor = Redactor()


# The one registry of this process (see the module doc).
OWN_SECRETS = OwnSecrets()


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """All of `text` with every secret (in every printed form) replaced by ``***``."""
    return Redactor(secrets).redact(text)


def cut(text: str, limit: int = DEFAULT_TEXT_LIMIT) -> str:
    """At most `limit` characters, ending in ``…`` when cut."""
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
        parts = split_url(text)
    except ValueError:
        return "<invalid URL>"
    scheme = parts.scheme.lower()
    if scheme == "data":
        return "data:..."
    host = parts.netloc.rsplit("@", 1)[-1]
    if not scheme and not host:
        return cut(parts.path, limit)
    return cut(urlunsplit((scheme, host.lower(), parts.path, "", "")), limit)
