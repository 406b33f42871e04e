"""AES-256-CBC with PKCS#7 padding, for ``crypto.py``.

The interpreter's ``ssl`` module has already mapped OpenSSL's libcrypto into the process
(asyncio and aiormq import it): its EVP cipher functions, reached through ``ctypes``,
cost no memory beyond ``ctypes`` itself (~0.3 MB), where importing ``cryptography`` maps
its own OpenSSL and bindings (~7 MB of resident memory, measured; a sixth of an idle
task-mode process). Where that libcrypto cannot be reached (an interpreter whose ``_ssl``
is built in, or links OpenSSL statically without exporting it), ``cryptography`` does the
same work. Both give the same bytes (tests/sailor/test_crypto.py runs the vectors
through each).

A message may be tens of MB: OpenSSL pads, and writes into one buffer that a decryption
hands back as a view, so that a body is not copied more often than it was with
``cryptography``.
"""

from __future__ import annotations

import ctypes
from typing import Any, Protocol

KEY_BYTES = 32
BLOCK_BYTES = 16


class BadPaddingError(ValueError):
    """The plaintext does not end in valid PKCS#7 padding (a wrong key, or not ours)."""


class OpenSSLCipherError(RuntimeError):
    """OpenSSL refused an operation that cannot fail on valid input (a bug, not the data's)."""


class AesCbc(Protocol):
    def encrypt(self, data: bytes) -> bytes:
        """``data`` padded to whole blocks and encrypted."""
        ...

    def decrypt(self, data: bytes) -> bytes | memoryview:
        """The plaintext of whole blocks of ciphertext, unpadded; ``BadPaddingError``."""
        ...


class OpenSSLAesCbc:
    """On the libcrypto that ``_ssl`` links; ``OSError``/``AttributeError`` from the
    constructor when it cannot be reached. Thread-safe: each call is a new context."""

    def __init__(self, key: bytes, iv: bytes) -> None:
        import _ssl

        libcrypto = ctypes.PyDLL(_ssl.__file__)  # its own symbols and those of its libraries
        pointer, size = ctypes.c_void_p, ctypes.c_int
        self._new = _declare(libcrypto.EVP_CIPHER_CTX_new, pointer, [])
        self._free = _declare(libcrypto.EVP_CIPHER_CTX_free, None, [pointer])
        self._init = _declare(libcrypto.EVP_CipherInit_ex, size, [
            pointer, pointer, pointer, ctypes.c_char_p, ctypes.c_char_p, size])
        self._update = _declare(libcrypto.EVP_CipherUpdate, size, [
            pointer, pointer, ctypes.POINTER(size), ctypes.c_char_p, size])
        self._final = _declare(libcrypto.EVP_CipherFinal_ex, size,
                               [pointer, pointer, ctypes.POINTER(size)])
        self._cipher = _declare(libcrypto.EVP_aes_256_cbc, pointer, [])()
        if not self._cipher:
            raise OpenSSLCipherError("this OpenSSL has no AES-256-CBC")
        self._key, self._iv = key, iv

    def encrypt(self, data: bytes) -> bytes:
        return bytes(self._run(data, encrypt=True))

    def decrypt(self, data: bytes) -> memoryview:
        return self._run(data, encrypt=False)

    def _run(self, data: bytes, *, encrypt: bool) -> memoryview:
        out = bytearray(len(data) + BLOCK_BYTES)  # OpenSSL's room for a block more
        window = (ctypes.c_char * len(out)).from_buffer(out)
        written, last = ctypes.c_int(0), ctypes.c_int(0)
        context = self._new()
        if not context:
            raise MemoryError("EVP_CIPHER_CTX_new")
        try:
            if (self._init(context, self._cipher, None, self._key, self._iv, int(encrypt)) != 1
                    or self._update(context, window, ctypes.byref(written), data,
                                    len(data)) != 1):
                raise OpenSSLCipherError("OpenSSL's AES-256-CBC failed")
            if self._final(context, ctypes.byref(window, written.value),
                           ctypes.byref(last)) != 1:
                if encrypt:
                    raise OpenSSLCipherError("OpenSSL's AES-256-CBC failed")
                raise BadPaddingError("bad padding")
        finally:
            self._free(context)
        del window  # lets the view below be the buffer's only export
        return memoryview(out)[:written.value + last.value]


def _declare(function: Any, restype: Any, argtypes: list[Any]) -> Any:
    function.restype = restype
    function.argtypes = argtypes
    return function


class CryptographyAesCbc:
    """On ``cryptography``, padding done here as the platform's format has it."""

    def __init__(self, key: bytes, iv: bytes) -> None:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

        self._cipher = Cipher(algorithms.AES(key), modes.CBC(iv))  # encryptor(): new context

    def encrypt(self, data: bytes) -> bytes:
        pad = BLOCK_BYTES - len(data) % BLOCK_BYTES
        context = self._cipher.encryptor()
        return context.update(data + bytes((pad,)) * pad) + context.finalize()

    def decrypt(self, data: bytes) -> bytes:
        context = self._cipher.decryptor()
        padded = context.update(data) + context.finalize()
        pad = padded[-1]
        if not 1 <= pad <= BLOCK_BYTES or padded[-pad:] != bytes((pad,)) * pad:
            raise BadPaddingError("bad padding")
        return padded[:-pad]


def aes_cbc_for(key: bytes, iv: bytes) -> AesCbc:
    """OpenSSL's through ctypes when it can be reached, else ``cryptography``'s."""
    if len(key) != KEY_BYTES or len(iv) != BLOCK_BYTES:
        raise ValueError("AES-256-CBC needs a 32-byte key and a 16-byte IV")
    try:
        return OpenSSLAesCbc(key, iv)
    except (ImportError, OSError, AttributeError, OpenSSLCipherError):
        return CryptographyAesCbc(key, iv)
