"""Redaction against hostile text: linear in the text, cut before it is searched, and a
message's URL adds a bounded number of bounded secrets that no cache keeps.

A mebibyte of text shaped against pattern engines (``a.a.a…`` runs, ``a://a://…``,
``%41%41…``, ``@@@@``, ``\\\\\\\\``, repeated heads of the key) goes through every entry
point that redacts: the fields of an API error, a stream's error event, a stream event
that is not JSON, a transport error, a failed Response, the refusal of a download and the
sailor's own log redaction. The bounds are asserted by counting what is searched
(characters handed to the search, characters scanned for user info, bytes allocated);
the clock is only a generous sanity check.
"""

from __future__ import annotations

import json
import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from elasticio_sailor import log

from lib import redaction
from lib.attachments.downloads import (
    MAX_SHOWN_HOST_CHARS,
    MAX_URL_CHARS,
    DownloadPolicy,
    Downloads,
    check_scheme,
)
from lib.attachments.inline import filename_for
from lib.attachments.inputs import name_in_url
from lib.attachments.object_storage import ObjectStorage
from lib.errors import AttachmentError, AttachmentNotAllowedError
from lib.openai.chat import ChatStreamReader
from lib.openai.client import OpenAIClient
from lib.openai.errors import OpenAIError, error_from_event, error_from_response
from lib.openai.paths import CHAT_COMPLETIONS_PATH
from lib.openai.retry import RetryPolicy
from lib.openai.sse import EventReader, ServerSentEvent, parse_event
from lib.openai.wire import decode_json_object
from lib.redaction import (
    MAX_FORM_CHARS,
    MAX_SECRET_CHARS,
    MAX_URL_SECRETS,
    REDACTED,
    Redactor,
    drop_user_info,
    url_for_humans,
    url_secrets,
)
from lib.responses.output import failure_of
from tests.support.action_support import RecordingLogger
from tests.support.misbehaving_server import ServerState, misbehaving_server
from tests.support.netguard import NetGuard

KEY = "sk-proj-MARKER-" + "q7Zr2Xw9Lk4Vb8Nc3Hs6Jd1Fg5Tp0Ym" * 4
MIB = 1 << 20
SHAPES = {
    "dotted run": "a." * (MIB // 2),
    "scheme run": "a://" * (MIB // 4),
    "host run": "https://" + "a." * (MIB // 2),
    "user info without end": "https://" + "u:" * (MIB // 2),
    "percent run": "%41" * (MIB // 3),
    "at run": "@" * MIB,
    "backslash run": "\\" * MIB,
    "authority starts": "://@" * (MIB // 4),
    "user info of ats": "://" + "@" * MIB,
    "near misses of the key": (KEY[:-1] + "#") * (MIB // len(KEY)),
    "lines": "a.\n" * (MIB // 3),
}
# Generous: a linear pass over these shapes takes milliseconds; the quadratic pattern
# of 360f48f took 6 s on 40 KB.
SANITY_S = 1.0
PUBLIC = "93.184.215.14"
LONG_INTERNAL_HOST = ("n" * 59 + ".") * 4 + "internal.test"  # as long as DNS allows
HOSTS = {"public.test": [PUBLIC], "internal.test": ["10.1.2.3"],
         LONG_INTERNAL_HOST: ["10.1.2.4"]}
SIGNATURE = "SIGNATURE-MARKER-0f1e2d3c4b5a69788796a5b4c3d2e1f0"


@pytest.fixture
def searched(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The length of every text the redaction searches (the window, not the input)."""
    lengths: list[int] = []
    search = Redactor._redact

    def spy(self: Redactor, text: str, clipped: bool) -> str:
        lengths.append(len(text))
        return search(self, text, clipped)

    monkeypatch.setattr(Redactor, "_redact", spy)
    return lengths


@pytest.fixture
def guard() -> Iterator[NetGuard]:
    with NetGuard(HOSTS, redirect=[PUBLIC]).installed() as installed:
        yield installed


@pytest.fixture
def server() -> Iterator[ServerState]:
    with misbehaving_server() as state:
        yield state


def downloads(logger: RecordingLogger) -> Downloads:
    return Downloads(DownloadPolicy(), idle_timeout_s=5.0, sleep=lambda _s: None,
                     logger=logger)


def texts_of(error: BaseException) -> list[str]:
    return [str(error), *(str(value) for value in vars(error).values())]


# ---- the entry points -----------------------------------------------------------------


def api_error(shape: str) -> list[str]:
    # the client reads 1 MiB of an error answer: the message, and some of the rest
    some = shape[: MIB // 16]
    error = {"message": shape, "code": some, "type": some, "param": some,
             "detail": [{"loc": ["body", some], "msg": some}] * 3}
    raised = error_from_response(400, json.dumps({"error": error}).encode(),
                                 {"x-request-id": shape}, Redactor([KEY]))
    return texts_of(raised)


def stream_error_event(shape: str) -> list[str]:
    data = {"error": {"message": shape, "code": shape, "type": shape, "param": shape}}
    return texts_of(error_from_event(data, shape, Redactor([KEY])))


def event_not_json(shape: str) -> list[str]:
    with pytest.raises(OpenAIError) as caught:
        parse_event(ServerSentEvent(None, shape), None, Redactor([KEY]))
    return texts_of(caught.value)


def answer_not_json(shape: str) -> list[str]:
    with pytest.raises(OpenAIError) as caught:
        decode_json_object(shape.encode(), 200, None, Redactor([KEY]))
    return texts_of(caught.value)


def transport_error(shape: str) -> list[str]:
    client = OpenAIClient(KEY, base_url="http://127.0.0.1:9/v1",
                          retry_policy=RetryPolicy(sleep=lambda _s: None))

    def refuse(*_args: Any, **_kwargs: Any) -> requests.Response:
        raise requests.RequestException(shape)

    client._session.request = refuse  # type: ignore[method-assign]
    with pytest.raises(OpenAIError) as caught:
        client.request_json("POST", CHAT_COMPLETIONS_PATH, {"model": "m", "messages": []})
    return texts_of(caught.value)


def failed_response(shape: str) -> list[str]:
    return texts_of(failure_of({"id": "resp_1", "status": "failed",
                                "error": {"code": "server_error", "message": shape}},
                               Redactor([KEY])))


def download_refusal(shape: str) -> list[str]:
    """The whole shape as a URL (refused for its length), and its head as long as a URL
    may be (refused by the policy, with a log line)."""
    logger = RecordingLogger()
    shown = []
    url = shape if "://" in shape[:12] else f"https://{shape}/x"
    for candidate in (url, url[: MAX_URL_CHARS - 3] + "/x"):
        with pytest.raises(AttachmentError) as caught:
            downloads(logger).fetch(candidate, "messages[0].content[0].image_url.url", MIB)
        shown += texts_of(caught.value)
    return [*shown, logger.text()]


ENTRY_POINTS: dict[str, Callable[[str], list[str]]] = {
    "API error fields": api_error,
    "stream error event": stream_error_event,
    "stream event not JSON": event_not_json,
    "answer not JSON": answer_not_json,
    "transport error": transport_error,
    "failed Response": failed_response,
    "download refusal": download_refusal,
}


def planted(shape: str) -> str:
    """`shape` with the key inside the part shown of every field."""
    return shape[:50] + KEY + shape[50:]


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_a_mebibyte_of_hostile_text_is_cut_before_it_is_searched(
        shape: str, searched: list[int], guard: NetGuard) -> None:
    window = redaction.DEFAULT_TEXT_LIMIT + MAX_FORM_CHARS
    started = time.perf_counter()
    for name, entry_point in ENTRY_POINTS.items():
        searched.clear()
        shown = entry_point(planted(shape))
        assert searched or name == "download refusal", name
        # each search saw a window (the characters shown plus the longest form), a few
        # per error: never the mebibyte
        assert max(searched, default=0) <= window, name
        assert sum(searched) <= 12 * window, name
        assert max(map(len, shown)) <= 2000, name
        for text in shown:
            assert KEY not in text, name
    assert time.perf_counter() - started < SANITY_S


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_the_whole_text_redacted_is_searched_in_one_pass(shape: str) -> None:
    started = time.perf_counter()
    redacted = Redactor([KEY]).redact(planted(shape))
    assert KEY not in redacted
    assert time.perf_counter() - started < SANITY_S


@pytest.mark.parametrize(("text", "kept"), [
    ("see https://user:pw@host/x", "see https://host/x"),
    ("see https://user:p@ss@host/x", "see https://host/x"),  # the user info to its last @
    ("a://b://c@d/", "a://b://d/"),
    ("mail me@example.com or https://host/", "mail me@example.com or https://host/"),
])
def test_user_info_is_dropped(text: str, kept: str) -> None:
    assert drop_user_info(text) == kept


def test_user_info_cut_by_the_window_is_dropped_with_what_follows() -> None:
    text = "x" * 280 + "https://admin:MARKERPASSWORD@proxy.example/" + "y" * MIB
    shown = Redactor().text(text, 300)
    assert "admin" not in shown
    assert "MARKER" not in shown
    assert shown == "x" * 280 + "https://…"


def test_a_key_straddling_the_cut_is_found_in_the_window() -> None:
    text = "x" * 295 + KEY + "y" * MIB
    shown = Redactor([KEY]).text(text, 300)
    assert shown.startswith("x" * 295 + REDACTED)
    assert "MARKER" not in shown
    assert len(shown) == 300


def test_a_secret_longer_than_the_search_ends_the_text_where_it_starts() -> None:
    token = "tok-MARKER-" + "".join(f"{i:04x}" for i in range(200))  # 811 characters
    assert len(token) > MAX_SECRET_CHARS
    shown = Redactor([token]).text(f"token {token} rejected", 2000)
    assert shown == f"token {REDACTED}"


# ---- a message's URL ------------------------------------------------------------------


def many_parameters(size: int) -> str:
    query = "&".join(f"p{i}=value-{i:07d}-MARKER" for i in range(size // 24))
    return f"https://internal.test/a.pdf?{query}"


def test_one_url_gives_a_bounded_number_of_bounded_secrets() -> None:
    url = many_parameters(100_000) + "&sig=" + SIGNATURE
    tracemalloc.start()
    found = url_secrets(url)
    redactor = Redactor([KEY]).with_url(url)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(found) <= MAX_URL_SECRETS
    assert SIGNATURE in found  # the longest values are kept
    assert len(redactor._whole) + len(redactor._heads) <= MAX_URL_SECRETS * 20 + 1
    assert all(len(form) <= MAX_FORM_CHARS for form in (*redactor._whole, *redactor._heads))
    assert peak <= 4 * len(url)
    assert SIGNATURE not in redactor.text(f"denied: {SIGNATURE}")


def test_a_url_of_escaped_characters_costs_memory_linear_in_its_length() -> None:
    url = "https://h.test/a.pdf?sig=" + "%F0%9F%98%80" * 10_000  # 120 KB decoding to emoji
    tracemalloc.start()
    Redactor([KEY]).with_url(url)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak <= 4 * len(url)


def test_a_message_s_url_enters_no_process_wide_cache() -> None:
    """Neither our cache of the process's own secrets nor the standard library's cache
    of split URLs keeps a message's URL (a signed URL, a data: URL of megabytes)."""
    caches = [redaction._own_secret_forms, urlsplit]
    storage = ObjectStorage("https://storage.test/", "storage-token-0123456789")
    Redactor([KEY])
    before = [cache.cache_info().currsize for cache in caches]
    for number in range(50):
        url = f"https://storage.test/x/{number}.pdf?sig={SIGNATURE}-{number}"
        Redactor([KEY]).with_url(url)
        url_for_humans(url)
        check_scheme(url)
        storage.contains(url)
        filename_for(url, "application/pdf", number)
        name_in_url(url)
        check_scheme(f"data:application/pdf;base64,{number:08d}")
    assert [cache.cache_info().currsize for cache in caches] == before


@pytest.mark.parametrize("size", [MAX_URL_CHARS - 100, 100_000])
def test_a_refused_url_builds_no_redactor_from_its_query(
        size: int, guard: NetGuard, monkeypatch: pytest.MonkeyPatch) -> None:
    taken: list[str] = []
    original = redaction.url_secrets
    monkeypatch.setattr(redaction, "url_secrets",
                        lambda url: (taken.append(url) if url else None) or original(url))
    url = many_parameters(size)
    logger = RecordingLogger()
    tracemalloc.start()
    with pytest.raises(AttachmentError):
        downloads(logger).fetch(url, "messages[0].content[0].file.file_url", MIB)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert taken == []
    assert peak <= 4 * len(url) + 64 * 1024
    assert "MARKER" not in logger.text()


def test_a_url_longer_than_servers_take_is_refused_before_it_is_parsed(
        guard: NetGuard) -> None:
    with pytest.raises(AttachmentError, match=f"longer than {MAX_URL_CHARS} characters"):
        downloads(RecordingLogger()).fetch(many_parameters(100_000), "file_url", MIB)
    assert guard.lookups == []
    assert guard.connects == []


def test_a_failed_download_takes_the_url_secrets_once_the_policy_allowed_it(
        guard: NetGuard, server: ServerState, monkeypatch: pytest.MonkeyPatch) -> None:
    taken: list[str] = []
    original = redaction.url_secrets
    monkeypatch.setattr(redaction, "url_secrets",
                        lambda url: (taken.append(url) if url else None) or original(url))
    url = f"http://public.test:{server.port}/status/503?sig={SIGNATURE}"
    logger = RecordingLogger()
    with pytest.raises(AttachmentError) as caught:
        downloads(logger).fetch(url, "file_url", MIB)
    assert len(server.requests) == 3  # tried three times
    assert taken == [url]  # one redactor for all attempts
    assert "SIGNATURE" not in logger.text() + str(caught.value)


@pytest.mark.parametrize("host", [
    "a." * 3000 + "test",  # does not resolve
    LONG_INTERNAL_HOST,  # resolves to a private address
])
def test_host_names_in_refusal_logs_are_shown_cut(host: str, guard: NetGuard) -> None:
    logger = RecordingLogger()
    with pytest.raises(AttachmentNotAllowedError):
        downloads(logger).fetch(f"https://{host}/x", "file_url", MIB)
    [(_level, line)] = logger.lines
    reason = line.split(" denied: ", 1)[1]
    assert len(reason) <= MAX_SHOWN_HOST_CHARS + 60


# ---- one event of an event stream -----------------------------------------------------


def test_a_key_split_across_the_data_lines_of_one_event_is_redacted() -> None:
    half = len(KEY) // 2
    body = (f'data: {{"error": "invalid key {KEY[:half]}\n'
            f'data: {KEY[half:]} refused"\n\n').encode()
    [event] = EventReader(idle_timeout_s=5.0, monotonic=lambda: 0.0).feed(body)
    with pytest.raises(OpenAIError) as caught:
        ChatStreamReader("req_1", Redactor([KEY])).add(event)
    message = str(caught.value)
    assert "not JSON" in message
    assert not any(KEY[at:at + 12] in message for at in range(len(KEY) - 11))
    assert REDACTED in message


# ---- the sailor's log ------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_the_sailor_s_log_redaction_is_linear(
        shape: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(log._state, "secrets", ())
    log.register_secret(KEY)
    log.register_url_secrets(f"amqp://user:{SIGNATURE}@broker.test/")
    started = time.perf_counter()
    redacted = log.redact({"msg": planted(shape), "err": {"stack": planted(shape)}})
    assert KEY not in json.dumps(redacted)
    assert time.perf_counter() - started < SANITY_S
