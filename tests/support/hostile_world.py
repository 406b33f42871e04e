"""The world of the hostile download tests: an attachment server that misbehaves on
purpose, the OpenAI stand-in, and the real component run in a subprocess whose DNS and
connects are guarded (``tests/support/netguard_site``): names resolve from :data:`HOSTS`,
"public" test addresses are connected to 127.0.0.1 and every connect is recorded, so a
test knows exactly what the component tried to reach. Planted :data:`MARKERS` (API key,
storage token, signed-URL query) must not appear in any event, payload field or log line.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.misbehaving_server import ServerState
from tests.support.netguard import NetGuard, recorded_connects, subprocess_env
from tests.support.openai_standin import OpenAIStandIn
from tests.support.recording_server import run_cli

API_KEY = "sk-hostile-APIKEY-marker-0123456789"
STORAGE_TOKEN = "storage-TOKEN-marker-9876543210"
SIGNATURE = "SIGNATURE-marker-abcdef0123456789"
MARKERS = (API_KEY, STORAGE_TOKEN, SIGNATURE)
PUBLIC = "93.184.215.14"
DENIED = "this URL may not be downloaded (host not allowed)"
PDF = b"%PDF-1.7\n" + b"z" * 200
SECRET_PDF = b"%PDF-1.7\nINTERNAL ONLY"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x07" * 64
# What the attachment server serves under /file/<name>, and the types that are not PDF.
FILES = {"a.pdf": PDF, "secret.pdf": SECRET_PDF, "photo.png": PNG}
TYPES = {"photo.png": "image/png"}
HOSTS = {
    "public.test": [PUBLIC],
    "internal.test": ["10.1.2.3"],
    "metadata.test": ["169.254.169.254"],
    "mixed.test": [PUBLIC, "127.0.0.1"],
}
# URLs on the attachment server (`{port}`) that the download policy must refuse without
# contacting them: loopback in its spellings, a name with one internal address, the cloud
# metadata address, and public redirects to internal places.
HOSTILE_URLS = [
    "http://127.0.0.1:{port}/file/secret.pdf",
    "http://2130706433:{port}/file/secret.pdf",
    "http://0x7f000001:{port}/file/secret.pdf",
    "http://127.1:{port}/file/secret.pdf",
    "http://[::ffff:127.0.0.1]:{port}/file/secret.pdf",
    "http://mixed.test:{port}/file/secret.pdf",
    "http://metadata.test:{port}/latest/meta-data/",
    "http://public.test:{port}/redirect?to=http://127.0.0.1:{port}/file/secret.pdf",
    "http://public.test:{port}/redirect?to=http://internal.test:{port}/file/secret.pdf",
]


@dataclass
class World:
    """The attachment server, the OpenAI stand-in and the record of connects."""

    server: ServerState
    openai: OpenAIStandIn
    record: Path
    repo_root: Path
    tmp_path: Path

    def env(self, **extra: str) -> dict[str, str]:
        guard = NetGuard(HOSTS, redirect=[PUBLIC])
        return {
            **subprocess_env(guard, self.record),
            "OPENAI_API_KEY": API_KEY,
            "ELASTICIO_OBJECT_STORAGE_URI": f"{self.server.base}/storage",
            "ELASTICIO_OBJECT_STORAGE_TOKEN": STORAGE_TOKEN,
            **extra,
        }

    def exec(self, message: dict[str, Any], *, action: str = "sendRequest",
             model: str | None = "gpt-4o-mini", options: Sequence[str] = (), **env: str
             ) -> tuple[list[dict[str, Any]], str]:
        """`python -m elasticio_sailor exec <action> [options]` (`model` None: an action
        without one; files out go to a folder of the test): the events and all output."""
        msg_file = self.tmp_path / "msg.json"
        msg_file.write_text(json.dumps(message))
        cfg = {"apiKey": "env:OPENAI_API_KEY", "baseUrl": self.openai.url,
               **({"model": model} if model else {})}
        done = run_cli(["exec", action, "--msg", str(msg_file), "--cfg",
                        json.dumps(cfg), "--progress-interval", "0",
                        "--attachments-dir", str(self.tmp_path / "out"), *options],
                       self.env(**env), self.repo_root, timeout=60)
        events = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
        return events, done.stdout + done.stderr

    def connects_to_server(self) -> list[tuple[str, int]]:
        return [c for c in recorded_connects(self.record) if c[1] == self.server.port]

    def signed_url(self, template: str) -> str:
        """A URL of :data:`HOSTILE_URLS` on this server, with a signature in its query."""
        url = template.format(port=self.server.port)
        return url + ("&" if "?" in url else "?") + f"X-Amz-Signature={SIGNATURE}"

    def internal_attachment(self) -> dict[str, Any]:
        """An attachment whose URL points at the cloud metadata address: an upstream step
        cannot smuggle an internal URL in as an attachment."""
        url = f"http://metadata.test:{self.server.port}/latest/meta-data/"
        return {"photo.png": {"url": url, "content-type": "image/png"}}

    def public_attachment(self) -> dict[str, Any]:
        """``photo.png`` on a public host, its URL signed."""
        url = (f"http://public.test:{self.server.port}/file/photo.png"
               f"?X-Amz-Signature={SIGNATURE}")
        return {"photo.png": {"url": url, "content-type": "image/png"}}

    def storage_attachment(self) -> tuple[dict[str, Any], str]:
        """``photo.png`` in the platform's object storage (this server's ``/file``), and
        the storage URI to set as ``ELASTICIO_OBJECT_STORAGE_URI``."""
        storage = f"{self.server.base}/file"
        url = f"{storage}/photo.png?storage_type=maester&X-Amz-Signature={SIGNATURE}"
        return {"photo.png": {"url": url}}, storage

    def assert_refused_unread(self, events: list[dict[str, Any]], output: str,
                              message: str) -> None:
        """Refused with `message` before anything was contacted; no secret shows."""
        assert error_of(events)["message"] == message
        assert self.server.requests == []
        assert self.connects_to_server() == []
        assert_no_marker(output)

    def assert_refused_untouched(self, events: list[dict[str, Any]], output: str,
                                 place: str) -> None:
        """The URL at `place` was refused with the one generic text, no secret shows, and
        nothing but the public redirector was contacted."""
        error = error_of(events)
        assert error["message"] == f"{place}: {DENIED}"
        assert error["name"] == "AttachmentNotAllowedError"
        assert_no_marker(output)
        assert all(path.startswith("/redirect") for path in self.server.paths()), \
            self.server.paths()
        assert set(self.connects_to_server()) <= {(PUBLIC, self.server.port)}


def assert_no_marker(text: str) -> None:
    for marker in MARKERS:
        assert marker not in text, marker


def error_of(events: list[dict[str, Any]]) -> dict[str, Any]:
    kinds = [e["event"] for e in events]
    assert kinds == ["error", "end"], kinds
    return events[0]["payload"]
