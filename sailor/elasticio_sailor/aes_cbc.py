"""AES-256-CBC over whole blocks, without padding (``crypto.py`` pads and checks).

The interpreter's ``ssl`` module has already mapped OpenSSL's libcrypto into the process
(asyncio and aiormq import it): its EVP cipher functions, reached through ``ctypes``,
cost no memory beyond ``ctypes`` itself (~0.3 MB), where importing ``cryptography`` maps
its own OpenSSL and bindings (~6.5 MB of resident memory, measured; a seventh of an idle
task-mode process). Where that libcrypto cannot be reached (an interpreter whose ``_ssl``
is built in or links OpenSSL statically, without exporting it), ``cryptography`` does the
same work. Both give the same bytes (tests/sailor/test_crypto.py runs the vectors
through each).
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import Any

KEY_BYTES = 32
BLOCK_BYTES = 16

Transform = Callable[[bytes, bool], bytes]
"""``transform(data, encrypt)``: ``data`` is a whole number of blocks, and so is the result."""


class OpenSSLCipherError(ValueError):
    """OpenSSL refused an operation that cannot fail on valid input (a bug, not the data's)."""


def openssl_transform(key: bytes, iv: bytes) -> Transform:
    """The transform on the libcrypto that ``_ssl`` links; ``OSError``/``AttributeError``
    when it cannot be reached (see ``transform_for``)."""
    import _ssl

    libcrypto = ctypes.PyDLL(_ssl.__file__)  # its own symbols and those of its libraries
    new_context = _declare(libcrypto.EVP_CIPHER_CTX_new, ctypes.c_void_p, [])
    free_context = _declare(libcrypto.EVP_CIPHER_CTX_free, None, [ctypes.c_void_p])
    aes_256_cbc = _declare(libcrypto.EVP_aes_256_cbc, ctypes.c_void_p, [])()
    init = _declare(libcrypto.EVP_CipherInit_ex, ctypes.c_int, [
        ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p,
        ctypes.c_int])
    no_padding = _declare(libcrypto.EVP_CIPHER_CTX_set_padding, ctypes.c_int,
                          [ctypes.c_void_p, ctypes.c_int])
    update = _declare(libcrypto.EVP_CipherUpdate, ctypes.c_int, [
        ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_char_p,
        ctypes.c_int])
    if not aes_256_cbc:
        raise OpenSSLCipherError("this OpenSSL has no AES-256-CBC")

    def transform(data: bytes, encrypt: bool) -> bytes:
        size = len(data)
        context = new_context()
        if not context:
            raise MemoryError("EVP_CIPHER_CTX_new")
        try:
            out = ctypes.create_string_buffer(size)
            written = ctypes.c_int(0)
            if (init(context, aes_256_cbc, None, key, iv, 1 if encrypt else 0) != 1
                    or no_padding(context, 0) != 1
                    or update(context, out, ctypes.byref(written), data, size) != 1
                    or written.value != size):  # no padding: every block in, every block out
                raise OpenSSLCipherError("OpenSSL's AES-256-CBC failed")
            return out.raw
        finally:
            free_context(context)

    return transform


def _declare(function: Any, restype: Any, argtypes: list[Any]) -> Any:
    function.restype = restype
    function.argtypes = argtypes
    return function


def cryptography_transform(key: bytes, iv: bytes) -> Transform:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    cipher = Cipher(algorithms.AES(key), modes.CBC(iv))  # each encryptor() is a new context

    def transform(data: bytes, encrypt: bool) -> bytes:
        context = cipher.encryptor() if encrypt else cipher.decryptor()
        return context.update(data) + context.finalize()

    return transform


def transform_for(key: bytes, iv: bytes) -> Transform:
    """OpenSSL's through ctypes when it can be reached, else ``cryptography``'s."""
    if len(key) != KEY_BYTES or len(iv) != BLOCK_BYTES:
        raise ValueError("AES-256-CBC needs a 32-byte key and a 16-byte IV")
    try:
        return openssl_transform(key, iv)
    except (ImportError, OSError, AttributeError, OpenSSLCipherError):
        return cryptography_transform(key, iv)
