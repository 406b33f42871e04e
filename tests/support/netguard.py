"""Keep a test's network on 127.0.0.1: DNS answered from a table, connects recorded.

- ``socket.getaddrinfo`` answers the names of the table (any address, public or not),
  numeric hosts as they are, ``localhost`` as 127.0.0.1; any other name fails as unknown:
  no DNS query leaves the machine.
- every connect (``socket.socket.connect``/``connect_ex``) is recorded with the address
  the code asked for. Loopback connects go through; a connect to an address of
  ``redirect`` (a "public" test address) goes to 127.0.0.1 on the same port; any other
  connect is refused without a packet being sent.

A subprocess gets the same guard from ``tests/support/netguard_site/sitecustomize.py`` (put that
folder first on PYTHONPATH and the table into the environment: see :func:`subprocess_env`).
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HOSTS_VARIABLE = "NETGUARD_HOSTS"  # JSON {name: [address, ...]}
REDIRECT_VARIABLE = "NETGUARD_REDIRECT"  # JSON [address, ...] connected to 127.0.0.1
RECORD_VARIABLE = "NETGUARD_RECORD"  # a file: one JSON [host, port] line per connect
SITE_DIR = Path(__file__).resolve().parent / "netguard_site"
LOOPBACK = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})


class NetGuard:
    """The table and the record; :meth:`installed` patches the socket module."""

    def __init__(self, hosts: Mapping[str, list[str]] | None = None,
                 redirect: list[str] | None = None, record_file: str | None = None) -> None:
        self.hosts = {k.lower(): list(v) for k, v in (hosts or {}).items()}
        self.redirect = set(redirect or ())
        self.connects: list[tuple[str, int]] = []
        self.lookups: list[str] = []
        self._record_file = record_file
        self._lock = threading.Lock()

    def _record(self, host: str, port: int) -> None:
        with self._lock:
            self.connects.append((host, port))
            if self._record_file:
                with Path(self._record_file).open("a", encoding="utf-8") as out:
                    out.write(json.dumps([host, port]) + "\n")

    def getaddrinfo(self, real: Any, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name is None:
            return real(host, port, *args, **kwargs)
        self.lookups.append(str(name))
        try:
            ipaddress.ip_address(str(name).split("%", 1)[0])
            return real(host, port, *args, **kwargs)  # numeric: no DNS
        except ValueError:
            pass
        addresses = self.hosts.get(str(name).lower().rstrip("."))
        if addresses is None and str(name).lower() == "localhost":
            addresses = ["127.0.0.1"]
        if addresses is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [info for address in addresses for info in real(address, port, *args, **kwargs)]

    def target(self, address: Any) -> Any:
        """Where a connect to `address` really goes (records it; refuses the outside)."""
        if not (isinstance(address, tuple) and len(address) >= 2):
            return address  # a Unix socket
        host, port = str(address[0]), int(address[1])
        self._record(host, port)
        if host in LOOPBACK:
            return address
        if host in self.redirect:
            return ("127.0.0.1", port)
        raise ConnectionRefusedError(f"netguard: no connects outside 127.0.0.1 ({host})")

    @contextmanager
    def installed(self) -> Iterator[NetGuard]:
        real_getaddrinfo = socket.getaddrinfo
        real_connect = socket.socket.connect
        real_connect_ex = socket.socket.connect_ex
        guard = self

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            return guard.getaddrinfo(real_getaddrinfo, host, port, *args, **kwargs)

        def connect(sock: socket.socket, address: Any) -> None:
            real_connect(sock, guard._retarget(sock, address))

        def connect_ex(sock: socket.socket, address: Any) -> int:
            try:
                target = guard._retarget(sock, address)
            except ConnectionRefusedError:
                return 111
            return real_connect_ex(sock, target)

        socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]
        socket.socket.connect = connect  # type: ignore[method-assign]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
        try:
            yield self
        finally:
            socket.getaddrinfo = real_getaddrinfo
            socket.socket.connect = real_connect  # type: ignore[method-assign]
            socket.socket.connect_ex = real_connect_ex  # type: ignore[method-assign]

    def install_for_good(self) -> None:
        """For a subprocess's sitecustomize: installed until the process ends."""
        self._installed = self.installed()
        self._installed.__enter__()

    def _retarget(self, sock: socket.socket, address: Any) -> Any:
        target = self.target(address)
        if target != address and sock.family == socket.AF_INET6:
            return ("::ffff:127.0.0.1", target[1], 0, 0)
        return target


def subprocess_env(guard: NetGuard, record_file: Path) -> dict[str, str]:
    """Environment for a subprocess that must be guarded the same way."""
    path = os.pathsep.join(p for p in (str(SITE_DIR), os.environ.get("PYTHONPATH", "")) if p)
    return {
        "PYTHONPATH": path,
        HOSTS_VARIABLE: json.dumps(guard.hosts),
        REDIRECT_VARIABLE: json.dumps(sorted(guard.redirect)),
        RECORD_VARIABLE: str(record_file),
    }


def recorded_connects(record_file: Path) -> list[tuple[str, int]]:
    if not record_file.exists():
        return []
    lines = record_file.read_text(encoding="utf-8").splitlines()
    return [(str(h), int(p)) for h, p in (json.loads(line) for line in lines if line)]
