"""The download policy against a real local server, with DNS and connects guarded.

Nothing leaves 127.0.0.1: names resolve from the guard's table; "public" test addresses
are connected to 127.0.0.1 by the guard, which records the address the code asked for.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import itertools
import re
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from lib.attachments.downloads import (
    DENIED_TEXT,
    DownloadPolicy,
    Downloads,
    download_policy_from,
    inline_size,
    is_public_address,
    literal_address,
)
from lib.attachments.object_storage import ObjectStorage
from lib.errors import (
    AttachmentDownloadError,
    AttachmentError,
    AttachmentNotAllowedError,
    AttachmentTooLargeError,
    ConfigError,
    ObjectStorageDownloadError,
    UserError,
)
from tests.support.action_support import RecordingLogger
from tests.support.misbehaving_server import ServerState, misbehaving_server
from tests.support.netguard import NetGuard

PUBLIC = "93.184.215.14"  # a public address; the guard connects it to 127.0.0.1
PUBLIC_2 = "93.184.215.15"
PLACE = "messages[0].content[1].file.file_url"
PDF = b"%PDF-1.7\n" + b"x" * 100
TOKEN = "storage-TOKEN-marker-0123456789"
SIGNATURE = "SIGNATURE-marker-abcdef0123456789"
HOSTS = {
    "public.test": [PUBLIC],
    "other-public.test": [PUBLIC_2],
    "internal.test": ["10.1.2.3"],
    "metadata.test": ["169.254.169.254"],
    "mixed.test": [PUBLIC, "10.0.0.1"],
    "v6-loopback.test": ["::1"],
    "mapped.test": ["::ffff:127.0.0.1"],
}


@pytest.fixture
def guard() -> Iterator[NetGuard]:
    with NetGuard(HOSTS, redirect=[PUBLIC, PUBLIC_2, "10.1.2.3"]).installed() as installed:
        yield installed


@pytest.fixture
def server() -> Iterator[ServerState]:
    with misbehaving_server(files={"a.pdf": PDF}) as state:
        yield state


def downloads(policy: DownloadPolicy | None = None, **kwargs: object) -> Downloads:
    return Downloads(policy or DownloadPolicy(), idle_timeout_s=5.0, sleep=lambda _s: None,
                     **kwargs)  # type: ignore[arg-type]


# ---- addresses ------------------------------------------------------------------------


@pytest.mark.parametrize(("address", "public"), [
    ("93.184.215.14", True), ("8.8.8.8", True), ("2606:4700::1111", True),
    ("::ffff:93.184.215.14", True),
    ("127.0.0.1", False), ("127.255.255.254", False), ("10.0.0.1", False),
    ("172.16.5.4", False), ("192.168.1.1", False), ("169.254.169.254", False),
    ("100.64.0.1", False), ("0.0.0.0", False), ("224.0.0.1", False), ("240.0.0.1", False),
    ("255.255.255.255", False), ("192.0.2.1", False), ("198.51.100.1", False),
    ("203.0.113.1", False), ("198.18.0.1", False), ("192.0.0.8", False),
    ("::1", False), ("::", False), ("fe80::1", False), ("fc00::1", False), ("fd12::1", False),
    ("fec0::1", False), ("ff02::1", False), ("2001:db8::1", False),
    ("::ffff:127.0.0.1", False), ("::ffff:10.0.0.1", False), ("::127.0.0.1", False),
    ("64:ff9b::7f00:1", False), ("2002:7f00:1::1", False), ("2001::1", False),
])
def test_which_addresses_are_public(address: str, public: bool) -> None:
    assert is_public_address(ipaddress.ip_address(address)) is public


@pytest.mark.parametrize("host", [
    "127.1", "2130706433", "0x7f000001", "0177.0.0.1", "0x7f.1", "127.0.0.1.", "[::1]",
    "[::ffff:127.0.0.1]", "[::ffff:7f00:1]",
])
def test_every_spelling_of_a_loopback_address_is_one(host: str) -> None:
    address = literal_address(host)
    assert address is not None
    assert not is_public_address(address)


def test_names_are_not_taken_for_numbers() -> None:
    assert literal_address("example.com") is None
    assert literal_address("deadbeef") is None
    assert literal_address("cafe.example") is None


# ---- denied: nothing is contacted -----------------------------------------------------


@pytest.mark.parametrize("host", [
    "127.0.0.1", "127.1", "2130706433", "0x7f000001", "0177.0.0.1", "[::1]",
    "[::ffff:127.0.0.1]", "localhost", "internal.test", "metadata.test", "mixed.test",
    "v6-loopback.test", "mapped.test", "169.254.169.254", "10.0.0.5", "[fe80::1]",
])
def test_a_non_public_host_is_denied_before_any_connect(
        host: str, guard: NetGuard, server: ServerState) -> None:
    logger = RecordingLogger()
    url = f"http://{host}:{server.port}/file/a.pdf?X-Amz-Signature={SIGNATURE}"
    with pytest.raises(AttachmentNotAllowedError) as caught:
        downloads(logger=logger).fetch(url, PLACE, 1000)
    assert str(caught.value) == f"{PLACE}: {DENIED_TEXT}"
    assert isinstance(caught.value, UserError)
    assert guard.connects == []
    assert server.requests == []
    assert SIGNATURE not in logger.text()


def test_a_public_host_is_connected_at_the_checked_address(
        guard: NetGuard, server: ServerState) -> None:
    got = downloads().fetch(f"http://public.test:{server.port}/file/a.pdf", PLACE, 1000)
    assert got.data == PDF
    assert got.content_type == "application/pdf"
    assert guard.connects == [(PUBLIC, server.port)]
    assert server.requests[0].headers["Host"] == f"public.test:{server.port}"
    assert "Authorization" not in server.requests[0].headers


def test_the_name_is_resolved_once_so_a_rebinding_dns_cannot_answer_twice(
        server: ServerState) -> None:
    answers = itertools.chain([[PUBLIC]], itertools.repeat(["127.0.0.1"]))

    class Rebinding(NetGuard):
        def getaddrinfo(self, real, host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
            if host == "rebind.test":
                self.hosts["rebind.test"] = next(answers)
            return super().getaddrinfo(real, host, port, *args, **kwargs)

    with Rebinding({}, redirect=[PUBLIC]).installed() as guard:
        downloads().fetch(f"http://rebind.test:{server.port}/file/a.pdf", PLACE, 1000)
        assert guard.lookups.count("rebind.test") == 1
        assert guard.connects == [(PUBLIC, server.port)]


@pytest.mark.parametrize("target", [
    "http://127.0.0.1:{port}/file/a.pdf", "http://internal.test:{port}/file/a.pdf",
    "http://2130706433:{port}/file/a.pdf", "http://[::1]:{port}/file/a.pdf",
    "file:///etc/passwd", "data:application/pdf;base64,JVBERg==",
])
def test_every_redirect_hop_is_checked(target: str, guard: NetGuard, server: ServerState
                                       ) -> None:
    location = target.format(port=server.port)
    url = f"http://public.test:{server.port}/redirect?to={location}"
    with pytest.raises(AttachmentError) as caught:
        downloads().fetch(url, PLACE, 1000)
    if location.startswith("http"):
        assert str(caught.value) == f"{PLACE}: {DENIED_TEXT}"
    assert [unquote(path) for path in server.paths()] == [f"/redirect?to={location}"]
    assert guard.connects == [(PUBLIC, server.port)]


def test_at_most_five_redirects(guard: NetGuard, server: ServerState) -> None:
    base = f"http://public.test:{server.port}"
    assert downloads().fetch(f"{base}/chain/5", PLACE, 1000).data == b"end"
    with pytest.raises(AttachmentDownloadError, match="more than 5 redirects"):
        downloads().fetch(f"{base}/chain/6", PLACE, 1000)


# ---- the operator's settings ----------------------------------------------------------


def test_allow_listed_hosts_and_ranges_may_be_downloaded(guard: NetGuard,
                                                         server: ServerState) -> None:
    policy = download_policy_from({"ATTACHMENT_ALLOWED_HOSTS": "internal.test, 127.0.0.0/8"})
    assert downloads(policy).fetch(
        f"http://internal.test:{server.port}/file/a.pdf", PLACE, 1000).data == PDF
    assert downloads(policy).fetch(
        f"http://127.0.0.1:{server.port}/file/a.pdf", PLACE, 1000).data == PDF
    ranges_only = download_policy_from({"ATTACHMENT_ALLOWED_HOSTS": "10.0.0.0/8"})
    assert downloads(ranges_only).fetch(
        f"http://internal.test:{server.port}/file/a.pdf", PLACE, 1000).data == PDF
    with pytest.raises(AttachmentNotAllowedError):
        downloads(ranges_only).fetch(f"http://metadata.test:{server.port}/", PLACE, 1000)


@pytest.mark.parametrize(("environ", "expected"), [
    ({"ATTACHMENT_ALLOWED_HOSTS": "files.corp/x"}, "ATTACHMENT_ALLOWED_HOSTS"),
    ({"ATTACHMENT_ALLOWED_HOSTS": "http://files.corp"}, "ATTACHMENT_ALLOWED_HOSTS"),
    ({"ATTACHMENT_URL_DOWNLOADS": "maybe"}, "ATTACHMENT_URL_DOWNLOADS must be 'on' or 'off'"),
    ({"ATTACHMENT_DOWNLOAD_DEADLINE_S": "0"}, "ATTACHMENT_DOWNLOAD_DEADLINE_S"),
    ({"ATTACHMENT_DOWNLOAD_DEADLINE_S": "soon"}, "ATTACHMENT_DOWNLOAD_DEADLINE_S"),
])
def test_invalid_settings_are_configuration_errors(environ: dict, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        download_policy_from(environ)


def test_url_downloads_off_allows_the_storage_only(guard: NetGuard, server: ServerState
                                                   ) -> None:
    policy = download_policy_from({
        "ATTACHMENT_URL_DOWNLOADS": "off",
        "ELASTICIO_OBJECT_STORAGE_URI": f"{server.base}/file",
        "ELASTICIO_OBJECT_STORAGE_TOKEN": TOKEN,
    })
    with pytest.raises(AttachmentNotAllowedError, match="host not allowed"):
        downloads(policy).fetch(f"http://public.test:{server.port}/file/a.pdf", PLACE, 1000)
    assert server.requests == []
    assert downloads(policy).fetch(f"{server.base}/file/a.pdf", PLACE, 1000).data == PDF
    assert server.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"


# ---- the object storage ---------------------------------------------------------------


def storage_policy(server: ServerState) -> DownloadPolicy:
    return DownloadPolicy(storage=ObjectStorage(f"{server.base}/file", TOKEN))


def test_the_storage_is_allowed_and_gets_its_token_only_there(
        guard: NetGuard, server: ServerState) -> None:
    policy = storage_policy(server)
    downloads(policy).fetch(f"{server.base}/file/a.pdf", PLACE, 1000)
    downloads(policy).fetch(f"http://public.test:{server.port}/file/a.pdf", PLACE, 1000)
    # outside the storage's path, even on its host: not the storage
    with pytest.raises(AttachmentNotAllowedError):
        downloads(policy).fetch(f"{server.base}/status/200", PLACE, 1000)
    tokens = [r.headers.get("Authorization") for r in server.requests]
    assert tokens == [f"Bearer {TOKEN}", None]


def test_a_redirect_into_the_storage_gets_no_token(guard: NetGuard, server: ServerState
                                                   ) -> None:
    url = f"http://public.test:{server.port}/redirect?to={server.base}/file/a.pdf"
    downloads(storage_policy(server)).fetch(url, PLACE, 1000)
    assert [r.headers.get("Authorization") for r in server.requests] == [None, None]


@pytest.mark.parametrize("prefix", ["", "/redirect?to="])
def test_a_url_that_only_looks_like_the_storage_is_checked_and_gets_no_token(
        prefix: str, guard: NetGuard, server: ServerState) -> None:
    # urlsplit reads the host after the "@" (the storage's), requests/urllib3 end the host
    # at the backslash: the connection would go to 10.1.2.3 with the storage's token.
    tricky = f"http://10.1.2.3:{server.port}\\@127.0.0.1:{server.port}/file/a.pdf"
    url = f"http://public.test:{server.port}{prefix}{tricky}" if prefix else tricky
    with pytest.raises(AttachmentNotAllowedError):
        downloads(storage_policy(server)).fetch(url, PLACE, 1000)
    assert ("10.1.2.3", server.port) not in guard.connects
    assert all(r.headers.get("Authorization") is None for r in server.requests)


def test_a_storage_outage_is_retried_then_not_the_users_fault(
        guard: NetGuard, server: ServerState) -> None:
    policy = DownloadPolicy(storage=ObjectStorage(f"{server.base}/status", TOKEN))
    with pytest.raises(ObjectStorageDownloadError) as caught:
        downloads(policy).fetch(f"{server.base}/status/503", PLACE, 1000)
    assert not isinstance(caught.value, UserError)
    assert len(server.requests) == 3
    assert TOKEN not in str(caught.value)


# ---- failures of allowed URLs: the place, the URL without its query, no internals -------


def test_an_http_error_names_place_url_and_status(guard: NetGuard, server: ServerState
                                                  ) -> None:
    url = f"http://public.test:{server.port}/status/404?sig={SIGNATURE}"
    with pytest.raises(AttachmentDownloadError) as caught:
        downloads().fetch(url, PLACE, 1000)
    assert str(caught.value) == (f"{PLACE}: could not download http://public.test:"
                                 f"{server.port}/status/404: the server answered HTTP 404 "
                                 "Not Found")
    assert len(server.requests) == 1  # the user's error: not retried


def test_a_refused_connection_says_so_without_urllib3_internals(guard: NetGuard) -> None:
    with socket.socket() as probe:  # a port where nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    logger = RecordingLogger()
    url = f"http://public.test:{port}/a.pdf?X-Amz-Signature={SIGNATURE}"
    with pytest.raises(AttachmentDownloadError) as caught:
        downloads(logger=logger).fetch(url, PLACE, 1000)
    text = str(caught.value)
    assert text == (f"{PLACE}: could not download http://public.test:{port}/a.pdf: "
                    "could not connect to the server")
    for leak in ("ConnectionPool", "Max retries", "NewConnectionError", SIGNATURE):
        assert leak not in text + logger.text()
    assert len(guard.connects) == 3  # tried three times


def test_a_name_that_does_not_resolve_is_refused_like_a_private_host(guard: NetGuard) -> None:
    """The same text as for an internal name: a message cannot learn which names exist."""
    logger = RecordingLogger()
    with pytest.raises(AttachmentNotAllowedError) as caught:
        downloads(logger=logger).fetch("https://no-such-host.test/a.pdf", PLACE, 1000)
    assert str(caught.value) == f"{PLACE}: {DENIED_TEXT}"
    assert "no-such-host.test does not resolve" in logger.text()
    assert guard.connects == []


# ---- bounds ---------------------------------------------------------------------------


def test_a_dripping_server_is_cut_at_the_deadline(guard: NetGuard, server: ServerState
                                                  ) -> None:
    # The clock advances 0.1 s each time it is read: the deadline (1 s) passes after a
    # counted number of looks, while the server still drips (1000 bytes, 10 ms apart).
    server.drip_interval_s = 0.01
    ticks = itertools.count()
    policy = DownloadPolicy(deadline_s=1.0)
    with pytest.raises(AttachmentDownloadError, match="took longer than 1 s"):
        downloads(policy, monotonic=lambda: next(ticks) / 10).fetch(
            f"http://public.test:{server.port}/drip/1000", PLACE, 10_000)
    assert len(server.requests) == 1  # a deadline is not retried
    assert next(ticks) < 100  # ended by the clock, long before the answer


def test_a_declared_size_above_the_limit_is_refused_unread(
        guard: NetGuard, server: ServerState) -> None:
    with pytest.raises(AttachmentTooLargeError, match="larger than the file limit of 1000 b"):
        downloads().fetch(f"http://public.test:{server.port}/huge", PLACE, 1000, "file")


def test_an_odd_declared_size_is_read_within_the_limit(guard: NetGuard, server: ServerState
                                                       ) -> None:
    url = f"http://public.test:{server.port}/odd-length"
    assert downloads().fetch(url, PLACE, 1000).data == b"%PDF-"
    with pytest.raises(AttachmentTooLargeError):
        downloads().fetch(url, PLACE, 3)


def test_an_undeclared_size_stops_past_the_limit(guard: NetGuard, server: ServerState) -> None:
    server.files["big.pdf"] = b"y" * 200_000
    with pytest.raises(AttachmentTooLargeError):
        downloads().fetch(f"http://public.test:{server.port}/file/big.pdf", PLACE, 100_000)


def test_all_attachments_of_a_message_share_one_budget(guard: NetGuard, server: ServerState
                                                       ) -> None:
    budget = downloads(max_total_bytes=250)
    url = f"http://public.test:{server.port}/file/a.pdf"  # 109 bytes
    budget.fetch(url, PLACE, 1000)
    budget.count_inline(100, "messages[0].content[2].file.file_data", 1000, "file")
    with pytest.raises(AttachmentTooLargeError, match="for all attachments of a request"):
        budget.fetch(url, "messages[0].content[3].file.file_url", 1000)
    with pytest.raises(AttachmentTooLargeError, match=r"content\[4\].*file limit"):
        downloads().count_inline(2000, "messages[0].content[4].file.file_data", 1000, "file")


@pytest.mark.parametrize(("data", "size"), [
    ("data:application/pdf;base64,JVBERi0=", 5),
    ("data:image/png;base64,iVBORw0KGgo=", 8),
    ("JVBERi0xLjc=", 8),
    ("data:text/plain,hello%20world", 11),
])
def test_the_size_of_a_data_url_is_counted_without_decoding(data: str, size: int) -> None:
    assert inline_size(data) == size


# ---- https: the connection is pinned, the certificate still checked for the name --------


def certificate_files(tmp_path: Path, name: str) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for `name` signed by it: (ca, cert, key) PEM files."""
    def key() -> ec.EllipticCurvePrivateKey:
        return ec.generate_private_key(ec.SECP256R1())

    def cert(subject: str, public: Any, issuer: str, signer: Any, ca: bool) -> x509.Certificate:
        now = dt.datetime.now(dt.UTC)
        builder = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
                   .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
                   .public_key(public).serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(minutes=5))
                   .not_valid_after(now + dt.timedelta(hours=1))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if not ca:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca_key, server_key = key(), key()
    ca_cert = cert("test CA", ca_key.public_key(), "test CA", ca_key, ca=True)
    server_cert = cert(name, server_key.public_key(), "test CA", ca_key, ca=False)
    paths = (tmp_path / "ca.pem", tmp_path / "cert.pem", tmp_path / "key.pem")
    paths[0].write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(server_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return paths


@pytest.mark.parametrize(("certified", "works"), [("public.test", True),
                                                  ("other-public.test", False)])
def test_https_is_pinned_and_verified_for_the_host_name(
        certified: str, works: bool, guard: NetGuard, tmp_path: Path) -> None:
    ca, cert, key = certificate_files(tmp_path, certified)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    with misbehaving_server(tls=tls, files={"a.pdf": PDF}) as server:
        fetch = downloads(environ={"REQUESTS_CA_BUNDLE": str(ca)}).fetch
        url = f"https://public.test:{server.port}/file/a.pdf"
        if works:
            assert fetch(url, PLACE, 1000).data == PDF
            assert server.requests[0].headers["Host"] == f"public.test:{server.port}"
        else:
            with pytest.raises(AttachmentDownloadError, match="TLS connection failed"):
                fetch(url, PLACE, 1000)
            assert server.requests == []
    assert set(guard.connects) == {(PUBLIC, server.port)}


@pytest.mark.parametrize("url", [
    "http://" + "a" * 100_000 + ".example/x.pdf",  # a label longer than 63 characters
    "http://exa mple.com/x.pdf",
    "http://[::1/x.pdf",
    "ftp://files.example/x.pdf",
])
def test_an_invalid_url_is_a_short_error_with_the_place(url: str, guard: NetGuard) -> None:
    with pytest.raises(AttachmentError) as caught:
        downloads().fetch(url, PLACE, 1000)
    assert str(caught.value).startswith(f"{PLACE}: ")
    assert len(str(caught.value)) <= 300  # not the 100,000 characters of the host
    assert guard.connects == []


def test_a_hanging_name_lookup_ends_at_the_deadline(server: ServerState) -> None:
    release = threading.Event()

    class Hanging(NetGuard):
        def getaddrinfo(self, real, host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
            if host == "hangs.test":
                release.wait(30)
            return super().getaddrinfo(real, host, port, *args, **kwargs)

    try:
        with Hanging({"hangs.test": [PUBLIC]}, redirect=[PUBLIC]).installed() as guard:
            with pytest.raises(AttachmentDownloadError, match=r"did not resolve within 0\.3 s"):
                downloads(DownloadPolicy(deadline_s=0.3)).fetch(
                    f"http://hangs.test:{server.port}/file/a.pdf", PLACE, 1000)
            assert guard.connects == []
    finally:
        release.set()


def test_a_compressed_answer_is_limited_by_its_unpacked_size(guard: NetGuard,
                                                             server: ServerState) -> None:
    server.files["bomb.pdf"] = b"\0" * (16 * 1024 * 1024)  # ~16 KiB on the wire
    url = f"http://public.test:{server.port}/gzip/bomb.pdf"
    with pytest.raises(AttachmentTooLargeError):
        downloads().fetch(url, PLACE, 1024 * 1024)
    server.files["small.pdf"] = PDF
    got = downloads().fetch(f"http://public.test:{server.port}/gzip/small.pdf", PLACE, 1000)
    assert got.data == PDF


def test_an_ipv6_public_host_is_pinned_too(server: ServerState) -> None:
    public6 = "2606:4700::1111"
    with NetGuard({"v6.test": [public6]}, redirect=[public6]).installed() as guard:
        got = downloads().fetch(f"http://v6.test:{server.port}/file/a.pdf", PLACE, 1000)
        assert got.data == PDF
        got = downloads().fetch(f"http://[{public6}]:{server.port}/file/a.pdf", PLACE, 1000)
        assert got.data == PDF
        assert set(guard.connects) == {(public6, server.port)}  # one kept-alive connection
    assert [r.headers["Host"] for r in server.requests] == [
        f"v6.test:{server.port}", f"[{public6}]:{server.port}"]


# ---- streamed downloads ---------------------------------------------------------------


def test_a_streamed_download_hands_the_body_over_chunk_by_chunk(
        guard: NetGuard, server: ServerState) -> None:
    server.files["big.pdf"] = b"%PDF-" + b"y" * 300_000
    budget = downloads()
    with budget.open(f"http://public.test:{server.port}/file/big.pdf", PLACE, 400_000,
                     "file") as stream:
        assert (stream.media_type, stream.length) == ("application/pdf", 300_005)
        assert budget.total == 0  # nothing read yet
        sizes = [len(chunk) for chunk in stream.chunks]
    assert sum(sizes) == 300_005
    assert max(sizes) <= 64 * 1024
    assert budget.total == 300_005


def test_a_streamed_download_over_its_declared_limit_is_refused_unread(
        guard: NetGuard, server: ServerState) -> None:
    with pytest.raises(AttachmentTooLargeError, match="larger than the file limit of 1000 b"):
        downloads().open(f"http://public.test:{server.port}/huge", PLACE, 1000, "file")


def test_a_streamed_download_stops_in_the_middle_past_its_limit(
        guard: NetGuard, server: ServerState) -> None:
    stream = downloads().open(f"http://public.test:{server.port}/odd-length", PLACE, 3)
    with stream, pytest.raises(AttachmentTooLargeError, match=f"^{re.escape(PLACE)}: the "):
        b"".join(stream.chunks)


def test_a_streamed_download_is_retried_until_its_body_starts(
        guard: NetGuard, server: ServerState) -> None:
    url = f"http://public.test:{server.port}/status/503"
    with pytest.raises(AttachmentDownloadError, match="HTTP 503"):
        downloads().open(url, PLACE, 1000)
    assert len(server.requests) == 3
