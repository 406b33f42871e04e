"""Message crypto: AES-256-CBC, PKCS#7, key = SHA-256(password), a fixed IV
(docs/protocol.md#crypto).

Framing: protocol version < 2 carries base64 text of the ciphertext, >= 2 the raw
ciphertext. The fixed IV and the missing MAC are the platform's wire format, not a
choice of ours; neighbouring sailors must be able to read what we write.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from typing import Any

from .aes_cbc import BLOCK_BYTES, BadPaddingError, aes_cbc_for
from .errors import SailorException
from .jsvalues import stringify

_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/]")


class DecryptionError(SailorException, ValueError):
    """The body is not ciphertext we can read; the message never contains the body."""


def lenient_b64decode(data: bytes | str) -> bytes:
    """Base64 decoding that, like Node's, skips characters outside the alphabet."""
    if isinstance(data, str):
        data = data.encode("ascii", "ignore")
    cleaned = _NOT_BASE64.sub(b"", data.split(b"=", 1)[0])
    usable = len(cleaned) - len(cleaned) % 4 if len(cleaned) % 4 == 1 else len(cleaned)
    cleaned = cleaned[:usable]
    return base64.b64decode(cleaned + b"=" * (-len(cleaned) % 4))


def _b64decode(data: bytes | str) -> bytes:
    """Canonical base64 (what every sailor sends) in one C call; anything else the
    lenient way, which gives the same bytes for canonical input."""
    if isinstance(data, bytes):
        try:
            return binascii.a2b_base64(data, strict_mode=True)
        except binascii.Error:
            pass
    return lenient_b64decode(data)


class MessageCipher:
    """Encrypts and decrypts message texts; one instance per process (the key is derived once)."""

    def __init__(self, password: str, iv: str) -> None:
        self._key = hashlib.sha256(password.encode("utf-8")).digest()
        self._iv = iv.encode("utf-8")
        if len(self._iv) != BLOCK_BYTES:
            raise ValueError("the message crypto IV must be exactly 16 bytes long")
        self._aes = aes_cbc_for(self._key, self._iv)  # thread-safe

    def encrypt(self, text: str) -> bytes:
        return self._aes.encrypt(text.encode("utf-8"))

    def decrypt(self, data: bytes) -> str:
        if not data or len(data) % BLOCK_BYTES:
            raise DecryptionError("ciphertext length is not a positive multiple of 16")
        try:
            return str(self._aes.decrypt(data), "utf-8")
        except BadPaddingError as exc:
            raise DecryptionError("bad padding") from exc
        except UnicodeDecodeError as exc:
            raise DecryptionError("plaintext is not UTF-8") from exc

    # --- framing -------------------------------------------------------------------

    def encrypt_b64(self, text: str) -> bytes:
        return base64.b64encode(self.encrypt(text))

    def decrypt_b64(self, data: bytes | str) -> str:
        try:
            raw = _b64decode(data)
        except (binascii.Error, ValueError) as exc:
            raise DecryptionError("not base64") from exc
        return self.decrypt(raw)

    def encode_frame(self, text: str, protocol_version: int) -> bytes:
        """The AMQP body for ``text``: base64 text below version 2, raw bytes from 2 on."""
        if protocol_version >= 2:
            return self.encrypt(text)
        return self.encrypt_b64(text)

    def decode_frame(self, body: bytes, protocol_version: int) -> str:
        if protocol_version >= 2:
            return self.decrypt(body)
        return self.decrypt_b64(body)

    def encode_json(self, value: Any, protocol_version: int) -> bytes:
        return self.encode_frame(stringify(value), protocol_version)

    def decode_json(self, body: bytes, protocol_version: int) -> Any:
        """Decrypt and parse; any failure is a ``DecryptionError`` (docs/protocol.md#decoding)."""
        text = self.decode_frame(body, protocol_version)
        try:
            return json.loads(text)
        except ValueError as exc:
            raise DecryptionError("plaintext is not JSON") from exc
