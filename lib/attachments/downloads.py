"""Attachment downloads: what may be downloaded, from where, and within which bounds.

Message bodies come from upstream steps, often from webhooks: a URL in them must not make
the step read the network it runs in (server-side request forgery). The policy:

- the platform's object storage (``ELASTICIO_OBJECT_STORAGE_URI``) is always allowed and
  gets its token (``lib.attachments.object_storage``);
- any other ``http``/``https`` URL is downloaded only when **every** address its host
  resolves to is public (:func:`is_public_address`), or the host or address is on the
  operator's allow-list ``ATTACHMENT_ALLOWED_HOSTS`` (host names and CIDR ranges);
  ``ATTACHMENT_URL_DOWNLOADS=off`` allows the storage only;
- the connection goes to the very address that was checked (the host is resolved once and
  the connection pinned to it: no second lookup a DNS rebinding could answer differently),
  and every redirect (at most :data:`MAX_REDIRECTS`) is checked again the same way;
- a denied URL fails with one generic text: it is refused before any connection, so the
  text cannot tell whether anything listens there.

Bounds: a size per attachment (the caller's), a size for all attachments of a message
together, and a deadline for all downloads of a message (a server that drips one byte a
second ends there), on top of the idle timeout between two reads.

The rules, the pinning and why not ``requests-hardened``: docs/downloads.md#rules,
docs/downloads.md#pinning, docs/downloads.md#why-not-requests-hardened.
"""

from __future__ import annotations

import concurrent.futures
import http
import ipaddress
import logging
import re
import socket
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import unquote_to_bytes, urljoin

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import HTTPError as Urllib3HTTPError

from lib.attachments.object_storage import ObjectStorage, object_storage_from
from lib.errors import (
    AttachmentDownloadError,
    AttachmentError,
    AttachmentNotAllowedError,
    AttachmentTooLargeError,
    ConfigError,
    ObjectStorageDownloadError,
)
from lib.openai.client import is_timeout
from lib.openai.limits import CONNECT_TIMEOUT_S, MIB, READ_CHUNK_BYTES
from lib.redaction import Redactor, cut, url_for_humans
from lib.urls import split_url
from lib.version import USER_AGENT

if TYPE_CHECKING:  # the stubs' names for what requests hands to urllib3's pool
    from requests.adapters import _HostParams, _PoolKwargs

_T = TypeVar("_T")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOWED_HOSTS_VARIABLE = "ATTACHMENT_ALLOWED_HOSTS"
URL_DOWNLOADS_VARIABLE = "ATTACHMENT_URL_DOWNLOADS"
DEADLINE_VARIABLE = "ATTACHMENT_DOWNLOAD_DEADLINE_S"

MAX_IMAGE_BYTES = 20 * MIB  # OpenAI's limit for one image
MAX_FILE_BYTES = 32 * MIB  # OpenAI's limit for file inputs (PDF) in one request
MAX_TOTAL_BYTES = 50 * MIB  # all attachments of one message together
MAX_REDIRECTS = 5
# What HTTP servers must at least accept (RFC 9110); signed URLs are a few KiB at most.
MAX_URL_CHARS = 8 * 1024
DEFAULT_DEADLINE_S = 120.0  # all downloads of one message together
MAX_DEADLINE_S = 3600.0
DEFAULT_IDLE_TIMEOUT_S = 30.0
RETRY_DELAYS_S = (1.0, 2.0)  # transient failures (5xx, 429, connection) are tried 3 times
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
DENIED_TEXT = "this URL may not be downloaded (host not allowed)"
MAX_SHOWN_HOST_CHARS = 100  # a host name in a log line (a hostile one may be megabytes)

# Never public, whatever ``ipaddress`` of this Python version thinks (older versions miss
# some): loopback, private, link-local, CGNAT, unspecified, multicast, reserved,
# documentation and benchmarking ranges, and the IPv6 forms that embed an IPv4 address
# (IPv4-compatible, NAT64, 6to4, Teredo) or are site-local.
DENIED_NETWORKS: tuple[IPNetwork, ...] = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
    "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    "::/96", "::ffff:0:0:0/96", "64:ff9b::/96", "64:ff9b:1::/48", "100::/64", "2001::/23",
    "2001:db8::/32", "2002::/16", "3fff::/20", "5f00::/16", "fc00::/7", "fe80::/10",
    "fec0::/10", "ff00::/8",
))
# Host names that only exist inside a network (for images: OpenAI could not fetch them).
INTERNAL_SUFFIXES = (
    ".local", ".localdomain", ".internal", ".intranet", ".lan", ".corp", ".home.arpa",
    ".svc", ".cluster.local", ".localhost",
)
_NUMERIC_HOST = re.compile(r"[0-9a-fA-FxX.]+")

log = logging.getLogger(__name__)


# ---- addresses ------------------------------------------------------------------------


def is_public_address(address: IPAddress) -> bool:
    """Whether an address is reachable on the public internet (and nothing else)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return is_public_address(address.ipv4_mapped)
    return address.is_global and not any(address in net for net in DENIED_NETWORKS)


def literal_address(host: str) -> IPAddress | None:
    """The address a host written as a number stands for: ``[::1]``, ``127.1``,
    ``2130706433``, ``0x7f000001``, ``0177.0.0.1`` (every spelling ``inet_aton`` takes)."""
    bare = host.strip().removeprefix("[").removesuffix("]")
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        pass
    if not _NUMERIC_HOST.fullmatch(bare.rstrip(".")):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(bare.rstrip(".")))
    except OSError:
        return None


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to (a literal resolves to itself, without DNS)."""
    literal = literal_address(host)
    if literal is not None:
        return [literal]
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: dict[IPAddress, None] = {}
    for family, _type, _proto, _name, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6):
            addresses[ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])] = None
    return list(addresses)


_resolver = concurrent.futures.ThreadPoolExecutor(max_workers=4,
                                                  thread_name_prefix="attachment-dns")


def resolve_within(host: str, port: int, timeout_s: float) -> list[IPAddress]:
    """:func:`resolve`, given up after `timeout_s` (a lookup blocks in the C library,
    beyond the reach of socket timeouts)."""
    literal = literal_address(host)
    if literal is not None:
        return [literal]
    return _resolver.submit(resolve, host, port).result(timeout=timeout_s)


# ---- the policy -----------------------------------------------------------------------


class _DeniedError(Exception):
    """A URL the policy refuses; the reason is for the log only."""


@dataclass(frozen=True)
class DownloadPolicy:
    """What may be downloaded. Read from the environment by :func:`download_policy_from`."""

    storage: ObjectStorage = field(default_factory=ObjectStorage)
    allowed_hosts: frozenset[str] = frozenset()
    allowed_networks: tuple[IPNetwork, ...] = ()
    url_downloads: bool = True
    deadline_s: float = DEFAULT_DEADLINE_S

    def is_storage(self, url: str) -> bool:
        return self.storage.contains(url)

    def passes_by_reference(self, url: str) -> bool:
        """Whether an image URL can be given to the model provider as it is: public
        ``https`` on a host that is neither the storage, allow-listed nor internal-looking
        (the provider fetches it; nothing is downloaded here)."""
        parts = _split(url)
        if parts.scheme.lower() != "https" or self.is_storage(url):
            return False
        host = (parts.hostname or "").rstrip(".")
        if not host or host in self.allowed_hosts:
            return False
        address = literal_address(host)
        if address is not None:
            return is_public_address(address)
        return not (host == "localhost" or "." not in host or host.endswith(INTERNAL_SUFFIXES))

    def pinned_address(self, host: str, port: int, timeout_s: float) -> str:
        """The address to connect to for `host`: every address it resolves to must be
        allowed. Raises `_DeniedError`, `socket.gaierror` when it does not resolve, or
        `TimeoutError` when the lookup takes longer than `timeout_s`."""
        name = host.lower().rstrip(".")
        addresses = resolve_within(name, port, timeout_s)
        if not addresses:
            raise socket.gaierror(f"no address for {name}")
        if name not in self.allowed_hosts:
            for address in addresses:
                if not (is_public_address(address) or self._in_allowed_network(address)):
                    raise _DeniedError(f"{_shown_host(name)} resolves to the non-public "
                                       f"address {address}")
        first = addresses[0]
        return f"[{first}]" if first.version == 6 else str(first)

    def _in_allowed_network(self, address: IPAddress) -> bool:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.allowed_networks)


def parse_allowed_hosts(text: str) -> tuple[frozenset[str], tuple[IPNetwork, ...]]:
    """``files.corp.example, 10.20.0.0/16, 192.168.1.7`` -> host names and networks."""
    hosts: set[str] = set()
    networks: list[IPNetwork] = []
    for raw in re.split(r"[,\s]+", text.strip()):
        entry = raw.strip().lower().rstrip(".")
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            continue
        except ValueError:
            pass
        if "/" in entry or ":" in entry or not re.fullmatch(r"[a-z0-9_.-]+", entry):
            raise ConfigError(
                f"{ALLOWED_HOSTS_VARIABLE}: {raw[:80]!r} is neither a host name nor an "
                "address range like 10.20.0.0/16"
            )
        hosts.add(entry)
    return frozenset(hosts), tuple(networks)


def download_policy_from(environ: Mapping[str, str]) -> DownloadPolicy:
    """The policy the operator set in the environment (see the README's Security section)."""
    hosts, networks = parse_allowed_hosts(environ.get(ALLOWED_HOSTS_VARIABLE, ""))
    switch = environ.get(URL_DOWNLOADS_VARIABLE, "on").strip().lower()
    if switch not in ("on", "off"):
        raise ConfigError(f"{URL_DOWNLOADS_VARIABLE} must be 'on' or 'off', got {switch[:20]!r}")
    raw_deadline = environ.get(DEADLINE_VARIABLE, "").strip()
    deadline = DEFAULT_DEADLINE_S
    if raw_deadline:
        try:
            deadline = float(raw_deadline)
        except ValueError:
            deadline = -1.0
        if not 0 < deadline <= MAX_DEADLINE_S:
            raise ConfigError(
                f"{DEADLINE_VARIABLE} must be a number of seconds between 0 and "
                f"{MAX_DEADLINE_S:g}, got {raw_deadline[:20]!r}"
            )
    return DownloadPolicy(storage=object_storage_from(environ), allowed_hosts=hosts,
                          allowed_networks=networks, url_downloads=switch == "on",
                          deadline_s=deadline)


def _split(url: str) -> Any:
    """``urlsplit`` with the port checked; a malformed URL is the user's error."""
    try:
        parts = split_url(url.strip())
        _ = parts.port  # raises ValueError when out of range
    except ValueError as exc:
        raise AttachmentError(f"invalid URL ({_url_problem(exc)})") from None
    return parts


def _url_problem(exc: ValueError) -> str:
    """What the URL parser found wrong, without the pieces of the URL it quoted (a
    hostile one may be megabytes; a netloc holds the user info)."""
    unquoted = str(exc)[:200].split("'")[0::2]
    return " ".join(" ".join(unquoted).split())


def check_scheme(url: str) -> str:
    """The URL's scheme; anything but http, https and data is refused."""
    scheme = str(_split(url).scheme).lower()
    if scheme not in ("http", "https", "data"):
        raise AttachmentError(
            f"unsupported URL scheme {scheme or '(none)'!r}: use https, http or a data: URL"
        )
    return scheme


def inline_size(data: str) -> int:
    """How many bytes a ``data:`` URL (or bare base64) carries, without decoding it."""
    header, comma, payload = data.partition(",")
    if not comma:
        header, payload = ";base64", data
    if header.endswith(";base64"):
        payload = payload.strip()
        return len(payload) * 3 // 4 - payload[-2:].count("=")
    return len(unquote_to_bytes(payload))


# ---- the transport --------------------------------------------------------------------


class _CheckedRequest(requests.PreparedRequest):
    """A request the policy has passed: `target` is the pinned address, or None for the
    object storage (connected by name)."""

    target: str | None = None


class _PinningAdapter(HTTPAdapter):
    """Connects to the address the policy checked, never to a second lookup of the name;
    TLS still verifies the certificate for the host name. Refuses unchecked requests."""

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: bool | str, cert: Any = None
    ) -> tuple[_HostParams, _PoolKwargs]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert)
        if not isinstance(request, _CheckedRequest):
            raise requests.exceptions.InvalidURL("a download that the policy did not check")
        if request.target is None:
            return host_params, pool_kwargs
        host = str(host_params["host"])
        port = host_params.get("port")
        shown_host = f"[{host}]" if ":" in host else host
        request.headers["Host"] = f"{shown_host}:{port}" if port else shown_host
        if host_params["scheme"] == "https":
            # urllib3's pool takes both; the requests stubs list only some of its arguments.
            pool_kwargs["assert_hostname"] = host  # type: ignore[typeddict-unknown-key]
            pool_kwargs["server_hostname"] = host  # type: ignore[typeddict-unknown-key]
        host_params["host"] = request.target
        return host_params, pool_kwargs


_adapter = _PinningAdapter(pool_connections=8, pool_maxsize=16, max_retries=0)


def _verify_setting(environ: Mapping[str, str]) -> bool | str:
    return environ.get("REQUESTS_CA_BUNDLE") or environ.get("CURL_CA_BUNDLE") or True


# ---- one message's downloads --------------------------------------------------------


@dataclass(frozen=True)
class Downloaded:
    """A downloaded attachment (the URL as it may be shown)."""

    data: bytes
    content_type: str | None
    shown_url: str


class _TooLargeError(Exception):
    """More bytes than allowed (declared or read)."""


@dataclass
class _FailedError(Exception):
    """A failed attempt: the reason for humans, and whether another try may help;
    `checked`: whether the policy had let the URL through (a lookup that timed out did
    not)."""

    reason: str
    transient: bool
    storage: bool
    checked: bool = True


@dataclass
class _Target:
    """One download asked for: where it is shown in texts, and its limit. `redactor`
    also knows the URL's secrets once the policy has let the URL through."""

    url: str
    place: str
    kind: str
    max_bytes: int
    allowed: int
    redactor: Redactor

    @property
    def shown(self) -> str:
        return url_for_humans(self.url)


class DownloadStream:
    """A download whose body is read as `chunks` is iterated (once), within the same
    policy, limits and deadline as a whole download; close it (or use `with`) when done.
    `length` is the size the server declared, when it did."""

    def __init__(self, response: requests.Response, chunks: Iterator[bytes],
                 media_type: str | None, length: int | None, shown_url: str) -> None:
        self._response = response
        self.chunks = chunks
        self.media_type = media_type
        self.length = length
        self.shown_url = shown_url

    def close(self) -> None:
        self._response.close()

    def __enter__(self) -> DownloadStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Downloads:
    """The downloads of one message: one policy, one byte budget, one deadline.

    The generic entry points are :meth:`fetch` (URL, place in the body, size limit: the
    bytes) and :meth:`open` (the same, streamed); ``data:`` URLs count against the same
    limits through :meth:`count_inline`. `deadline_s` replaces the policy's deadline when
    the downloads are paced by something slower than the network (a streamed upload).
    """

    def __init__(
        self,
        policy: DownloadPolicy,
        *,
        idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S,
        max_total_bytes: int = MAX_TOTAL_BYTES,
        logger: Any = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        environ: Mapping[str, str] | None = None,
        deadline_s: float | None = None,
    ) -> None:
        self.policy = policy
        self.idle_timeout_s = idle_timeout_s
        self.max_total_bytes = max_total_bytes
        self.deadline_s = deadline_s or policy.deadline_s
        self.total = 0
        self._logger = logger or log
        self._monotonic = monotonic
        self._sleep = sleep
        self._deadline = monotonic() + self.deadline_s
        self._verify = _verify_setting(environ or {})
        self._redactor = Redactor([policy.storage.token])

    # -- budgets --

    def count_inline(self, size: int, place: str, max_bytes: int, kind: str = "attachment"
                     ) -> None:
        """Count an attachment carried in the body against the limits."""
        allowed = self._allowed(place, max_bytes)
        if size > allowed:
            raise AttachmentTooLargeError(
                f"{place}: the {kind} is larger than {self._limit_text(kind, max_bytes, allowed)}")
        self.total += size

    def _allowed(self, place: str, max_bytes: int) -> int:
        allowed = min(max_bytes, self.max_total_bytes - self.total)
        if allowed <= 0:
            raise AttachmentTooLargeError(
                f"{place}: attachments of one request exceed "
                f"{self.max_total_bytes // MIB} MiB together")
        return allowed

    def _limit_text(self, kind: str, max_bytes: int, allowed: int) -> str:
        if allowed == max_bytes:
            return f"the {kind} limit of {_size_text(max_bytes)}"
        return (f"the limit of {_size_text(self.max_total_bytes)} for all attachments of "
                "a request")

    # -- downloads --

    def fetch(self, url: str, place: str, max_bytes: int, kind: str = "attachment"
              ) -> Downloaded:
        """Download `url` for the attachment at `place` (e.g.
        ``messages[0].content[1].file.file_url``) under the policy and the limits.

        Raises :class:`AttachmentNotAllowedError` (generic text), `AttachmentTooLargeError`,
        `AttachmentDownloadError` (the URL's fault) or `ObjectStorageDownloadError` (the
        platform's).
        """
        target = self._target(url, place, max_bytes, kind)
        data, content_type = self._with_retries(target, lambda: self._whole(target))
        self.total += len(data)
        return Downloaded(data, content_type, target.shown)

    def open(self, url: str, place: str, max_bytes: int, kind: str = "attachment"
             ) -> DownloadStream:
        """Start downloading `url` like :meth:`fetch`, and hand the body over as it
        arrives: at most one chunk is held at a time. Transient failures are retried until
        the body starts; a failure while it is read raises the same errors as `fetch`, from
        the chunks' iteration."""
        target = self._target(url, place, max_bytes, kind)
        response, storage = self._with_retries(
            target, lambda: self._answer(target.url, target.allowed))
        try:
            declared = _declared_length(response)
            media_type = _media_type(response)
        except BaseException:
            response.close()
            raise
        return DownloadStream(response, self._streamed(target, response, storage),
                              media_type, declared, target.shown)

    def _target(self, url: str, place: str, max_bytes: int, kind: str) -> _Target:
        return _Target(url.strip(), place, kind, max_bytes, self._allowed(place, max_bytes),
                       self._redactor)

    def _with_retries(self, target: _Target, attempt: Callable[[], _T]) -> _T:
        """`attempt()`, tried again after transient failures within the deadline; every
        failure raised as the public error naming the target."""
        attempts = 0
        # Own loop: a retry must fit the message's deadline; each failure kind has its error.
        while True:
            try:
                return attempt()
            except (AttachmentError, _DeniedError, _TooLargeError, _FailedError) as failure:
                error = self._public_error(target, failure)
                delay = RETRY_DELAYS_S[attempts] if attempts < len(RETRY_DELAYS_S) else None
                if not (isinstance(failure, _FailedError) and failure.transient
                        and delay is not None and self._monotonic() + delay < self._deadline):
                    raise error from None
            attempts += 1
            self._logger.warning("%s; retry %s of %s in %s s", str(error), str(attempts),
                                 str(len(RETRY_DELAYS_S)), f"{delay:g}")
            self._sleep(delay)

    def _public_error(self, target: _Target, failure: Exception) -> Exception:
        """The error the caller sees for an internal failure: it names the place and the
        URL (without its query) and never a secret; a denial is logged with its reason."""
        place, shown = target.place, target.shown
        if isinstance(failure, AttachmentError):  # an invalid URL, raised without the place
            return type(failure)(f"{place}: {failure}")
        if isinstance(failure, _DeniedError):
            self._logger.warning("%s: download of %s denied: %s", place, shown,
                                 self._redactor.text(str(failure)))
            return AttachmentNotAllowedError(f"{place}: {DENIED_TEXT}")
        if isinstance(failure, _TooLargeError):
            return AttachmentTooLargeError(
                f"{place}: the {target.kind} {shown} is larger than "
                f"{self._limit_text(target.kind, target.max_bytes, target.allowed)}")
        assert isinstance(failure, _FailedError)
        if failure.checked and target.redactor is self._redactor:
            target.redactor = self._redactor.with_url(target.url)
        text = target.redactor.text(f"{place}: could not download {shown}: {failure.reason}")
        if failure.storage:
            return ObjectStorageDownloadError(text)
        return AttachmentDownloadError(text)

    def _streamed(self, target: _Target, response: requests.Response, storage: bool
                  ) -> Iterator[bytes]:
        """The body's chunks, counted against the limits as they pass; failures raised
        as the public errors."""
        try:
            for chunk in _capped(self._chunks(response, storage), target.allowed):
                self.total += len(chunk)
                yield chunk
        except (_TooLargeError, _FailedError) as failure:
            raise self._public_error(target, failure) from None

    def _remaining_s(self, checked: bool = True) -> float:
        remaining = self._deadline - self._monotonic()
        if remaining <= 0:
            raise _FailedError(f"the downloads of this message took longer than "
                               f"{self.deadline_s:g} s", transient=False,
                               storage=False, checked=checked)
        return remaining

    def _whole(self, target: _Target) -> tuple[bytes, str | None]:
        data, media_type = self._get(target.url, target.allowed)
        if len(data) > target.allowed:
            raise _TooLargeError
        return data, media_type

    def _get(self, url: str, max_bytes: int) -> tuple[bytes, str | None]:
        """The whole body (and its media type), read within `max_bytes`."""
        response, storage = self._answer(url, max_bytes)
        with response:
            return (b"".join(_capped(self._chunks(response, storage), max_bytes)),
                    _media_type(response))

    def _answer(self, url: str, max_bytes: int) -> tuple[requests.Response, bool]:
        """Follow up to MAX_REDIRECTS redirects, each hop checked: the final answer, its
        body unread (and whether it comes from the storage). An error status or a declared
        length over `max_bytes` fails here."""
        with_token = self.policy.is_storage(url)
        for _hop in range(MAX_REDIRECTS + 1):
            with_token = with_token and self.policy.is_storage(url)
            request = self._checked_request(url, with_token=with_token)
            response = self._send(request)
            location = response.headers.get("Location")
            if response.status_code in REDIRECT_STATUSES and location:
                response.close()
                url = urljoin(url, location.strip())
                continue
            storage = request.target is None
            failure: Exception | None = None
            if response.status_code >= 400:
                failure = _FailedError(_status_text(response.status_code),
                                       transient=response.status_code in TRANSIENT_STATUSES,
                                       storage=storage and response.status_code >= 500)
            elif (_declared_length(response) or 0) > max_bytes:
                failure = _TooLargeError()
            if failure is not None:
                response.close()
                raise failure
            return response, storage
        raise _FailedError(f"more than {MAX_REDIRECTS} redirects", transient=False, storage=False)

    def _checked_request(self, url: str, *, with_token: bool) -> _CheckedRequest:
        """The GET for `url` if the policy allows it (resolved and pinned here). The
        storage's token goes only to a chain of storage URLs: not to the storage reached
        by a redirect from elsewhere."""
        scheme = check_scheme(url)
        if scheme == "data":
            raise _DeniedError("a redirect to a data: URL")
        if len(url) > MAX_URL_CHARS:  # the HTTP library's URL parsing is slow on long URLs
            raise AttachmentError(f"the URL is longer than {MAX_URL_CHARS} characters")
        request = _CheckedRequest()
        try:
            # urllib.parse and urllib3 end a host at different characters (a backslash ends it
            # for urllib3 only): the storage is what both read as the storage.
            request.prepare_url(url, None)
            storage = self.policy.is_storage(url) and self.policy.is_storage(request.url or "")
            storage_headers = (self.policy.storage.headers_for(url)
                               if with_token and storage else None)
            headers = {"User-Agent": USER_AGENT, "Accept": "*/*",
                       "Accept-Encoding": "gzip, deflate", **(storage_headers or {})}
            request.prepare(method="GET", url=url, headers=headers)
        except (requests.RequestException, ValueError, UnicodeError) as exc:
            raise AttachmentError(f"invalid URL ({type(exc).__name__})") from None
        if storage:
            return request
        if not self.policy.url_downloads:
            raise _DeniedError(f"{URL_DOWNLOADS_VARIABLE} is off (object storage only)")
        parts = split_url(request.url or "")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        timeout_s = min(CONNECT_TIMEOUT_S, self._remaining_s(checked=False))
        try:
            request.target = self.policy.pinned_address(parts.hostname or "", port, timeout_s)
        except (socket.gaierror, UnicodeError):
            # Refused like a private host, so that the text cannot tell which internal
            # names exist; the log says why.
            raise _DeniedError(
                f"the host name {_shown_host(parts.hostname or '')} does not resolve") from None
        except TimeoutError:
            raise _FailedError(f"the host name did not resolve within {timeout_s:.2g} s",
                               transient=True, storage=False, checked=False) from None
        return request

    def _send(self, request: _CheckedRequest) -> requests.Response:
        storage = request.target is None
        remaining = self._remaining_s()
        timeout = (min(CONNECT_TIMEOUT_S, remaining), min(self.idle_timeout_s, remaining))
        try:
            return _adapter.send(request, stream=True, timeout=timeout, verify=self._verify,
                                 proxies={})
        except requests.exceptions.SSLError:
            raise _FailedError("the TLS connection failed (certificate or protocol)",
                           transient=False, storage=storage) from None
        except requests.exceptions.ConnectTimeout:
            raise _FailedError(f"could not connect within {timeout[0]:.2g} s", transient=True,
                           storage=storage) from None
        except requests.exceptions.Timeout:
            raise self._timeout(storage) from None
        except requests.exceptions.ConnectionError:
            raise _FailedError("could not connect to the server", transient=True,
                           storage=storage) from None
        except (requests.RequestException, ValueError) as exc:
            raise AttachmentError(f"invalid URL ({type(exc).__name__})") from None

    def _timeout(self, storage: bool) -> _FailedError:
        if self._deadline - self._monotonic() <= 0.05:
            return _FailedError(f"the downloads of this message took longer than "
                            f"{self.deadline_s:g} s", transient=False, storage=False)
        return _FailedError(f"the server sent nothing for {self.idle_timeout_s:g} s",
                        transient=True, storage=storage)

    def _chunks(self, response: requests.Response, storage: bool) -> Iterator[bytes]:
        """The body as it arrives; each read waits at most the idle timeout and never
        past the deadline."""
        raw = response.raw
        while True:
            remaining = self._remaining_s()
            _set_read_timeout(raw, min(self.idle_timeout_s, remaining))
            try:
                chunk = raw.read1(READ_CHUNK_BYTES, decode_content=True)
            except (requests.RequestException, Urllib3HTTPError, OSError) as exc:
                if is_timeout(exc):
                    raise self._timeout(storage) from None
                raise _FailedError("the connection broke while reading", transient=True,
                               storage=storage) from None
            if not chunk:
                return
            yield chunk


def _shown_host(host: str) -> str:
    return cut(host, MAX_SHOWN_HOST_CHARS)


def _capped(chunks: Iterator[bytes], max_bytes: int) -> Iterator[bytes]:
    """`chunks` until more than `max_bytes` came: then `_TooLargeError`."""
    read = 0
    for chunk in chunks:
        read += len(chunk)
        if read > max_bytes:
            raise _TooLargeError
        yield chunk


def _declared_length(response: requests.Response) -> int | None:
    """The Content-Length the server declared (None when absent or not a number)."""
    declared = response.headers.get("Content-Length", "")
    return int(declared) if declared.isascii() and declared.isdigit() else None


def _media_type(response: requests.Response) -> str | None:
    media = (response.headers.get("Content-Type") or "").split(";", 1)[0]
    return media.strip().lower() or None


def _set_read_timeout(raw: Any, timeout_s: float) -> None:
    """Bound the next read of the response's socket (when it has one: test doubles do not)."""
    sock = getattr(getattr(raw, "connection", None), "sock", None)
    if sock is not None:
        sock.settimeout(max(timeout_s, 0.001))


def _status_text(status: int) -> str:
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    return f"the server answered HTTP {status} {phrase}".rstrip()


def _size_text(size: int) -> str:
    return f"{size // MIB} MiB" if size % MIB == 0 else f"{size} bytes"
