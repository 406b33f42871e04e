"""What a task-mode process does not import until it needs it, checked in a fresh
interpreter: each of these is resident memory of every step's process.

- ``cryptography``: its bindings and their own OpenSSL, ~7 MB; the message cipher runs
  on the libcrypto that ``ssl`` has already mapped (``aes_cbc.py``);
- ``requests`` (with urllib3 and charset_normalizer, ~4.5 MB) for the object storage:
  imported at its first request, which most steps never make.
"""

from __future__ import annotations

import subprocess
import sys

from .test_crypto import IV, PASSWORD, VECTORS

LOADED = """
import sys
from elasticio_sailor import attachments, emitter, executor, lightweight, publisher
from elasticio_sailor.crypto import MessageCipher
from elasticio_sailor.object_storage import ObjectStorage

cipher = MessageCipher({password!r}, {iv!r})
assert cipher.encrypt_b64({plain!r}).decode() == {encrypted!r}
storage = ObjectStorage("http://127.0.0.1:9/", "token", flow_id="f", step_id="s")
bodies = lightweight.BodyStore(storage, cipher, max_body_bytes=1024)
files = attachments.Attachments(storage)
print(sorted({{name.split(".")[0] for name in sys.modules}} & {{"cryptography", "requests"}}))
"""


def heavy_modules_loaded(prelude: str = "") -> str:
    code = LOADED.format(password=PASSWORD, iv=IV, plain=VECTORS[0][0], encrypted=VECTORS[0][1])
    done = subprocess.run([sys.executable, "-c", prelude + code], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_cipher_and_storage_are_made_without_cryptography_or_requests() -> None:
    assert heavy_modules_loaded() == "[]"


def test_the_check_sees_a_module_that_is_imported() -> None:
    assert heavy_modules_loaded("import requests\n") == "['requests']"
