"""Message crypto of the platform (AES-256-CBC, key = SHA-256(password), fixed IV).

Protocol version 1 frames the ciphertext as base64 text, version 2 sends raw bytes.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


class MessageCrypto:
    def __init__(self, password: str, iv: str) -> None:
        iv_bytes = iv.encode("utf-8")
        if len(iv_bytes) != 16:
            raise ValueError(f"the IV must be 16 bytes, got {len(iv_bytes)}")
        key = hashlib.sha256(password.encode("utf-8")).digest()
        self._cipher = Cipher(algorithms.AES(key), modes.CBC(iv_bytes))

    def encrypt(self, value: Any, protocol_version: int = 1) -> bytes:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        padder = padding.PKCS7(128).padder()
        encryptor = self._cipher.encryptor()
        raw = encryptor.update(padder.update(text) + padder.finalize()) + encryptor.finalize()
        return raw if protocol_version >= 2 else base64.b64encode(raw)

    def decrypt(self, body: bytes, protocol_version: int = 1) -> Any:
        raw = body if protocol_version >= 2 else base64.b64decode(body)
        decryptor = self._cipher.decryptor()
        unpadder = padding.PKCS7(128).unpadder()
        padded = decryptor.update(raw) + decryptor.finalize()
        return json.loads(unpadder.update(padded) + unpadder.finalize())
