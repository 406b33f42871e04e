"""Message crypto against known test vectors and the framing rules
(docs/protocol.md#test-vectors, docs/protocol.md#framing)."""

from __future__ import annotations

import base64
import hashlib

import pytest
from elasticio_sailor import aes_cbc, crypto
from elasticio_sailor.crypto import DecryptionError, MessageCipher, lenient_b64decode
from elasticio_sailor.jsvalues import stringify

PASSWORD = "testCryptoPassword"
IV = "iv=any16_symbols"
VECTORS = [
    ('{"body":{"a":1},"headers":{}}', "lcZM0DNsrFz2wA11l4+ckFdlnf1uBt6kRNG3yXoVu4A="),
    (
        '{"name":"Error","message":"boom","stack":"Error: boom"}',
        "+PAlXNRj+5HdYNSuw3cyrcwe2/G86AfL5nfMe6TSI1dNkz3kxJXX30D4otEMXimDZRy8Z1MoXHGyDCL0ayRwVg==",
    ),
    ('{"greeting":"größe"}', "lurBc7b/Aeg5FV0GI/g6S5S7mTeee9qMgVVCq3xfCNE="),
]


IMPLEMENTATIONS = {"openssl": aes_cbc.OpenSSLAesCbc, "cryptography": aes_cbc.CryptographyAesCbc}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def cipher(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> MessageCipher:
    """The cipher on each AES implementation: OpenSSL through ctypes, and the fallback."""
    monkeypatch.setattr(crypto, "aes_cbc_for", IMPLEMENTATIONS[request.param])
    return MessageCipher(PASSWORD, IV)


def test_key_is_sha256_of_password() -> None:
    assert hashlib.sha256(PASSWORD.encode()).hexdigest() == (
        "199c41243a183f4696aad0fbe4cf44490111bf9f73767aaa31016a9b6a1ec0d2")


@pytest.mark.parametrize(("plaintext", "ciphertext_b64"), VECTORS)
def test_known_plaintexts_encrypt_to_their_ciphertexts(
        cipher: MessageCipher, plaintext: str, ciphertext_b64: str) -> None:
    assert cipher.encrypt_b64(plaintext).decode() == ciphertext_b64
    assert cipher.encrypt(plaintext) == base64.b64decode(ciphertext_b64)


@pytest.mark.parametrize(("plaintext", "ciphertext_b64"), VECTORS)
def test_known_ciphertexts_decrypt_to_their_plaintexts(
        cipher: MessageCipher, plaintext: str, ciphertext_b64: str) -> None:
    assert cipher.decrypt_b64(ciphertext_b64) == plaintext
    assert cipher.decrypt(base64.b64decode(ciphertext_b64)) == plaintext


def test_stringify_matches_json_stringify() -> None:
    assert stringify({"body": {"a": 1}, "headers": {}}) == VECTORS[0][0]
    assert stringify({"greeting": "größe"}) == VECTORS[2][0]


def test_framing_by_protocol_version(cipher: MessageCipher) -> None:
    value = {"body": {"a": 1}, "headers": {}}
    v1 = cipher.encode_json(value, 1)
    v2 = cipher.encode_json(value, 2)
    assert v1 == VECTORS[0][1].encode()
    assert v2 == base64.b64decode(VECTORS[0][1])
    assert cipher.decode_json(v1, 1) == value
    assert cipher.decode_json(v2, 2) == value


def test_base64_decoding_is_lenient() -> None:
    encoded = VECTORS[0][1]
    assert lenient_b64decode(encoded[:10] + "\n" + encoded[10:]) == base64.b64decode(encoded)
    assert lenient_b64decode(encoded.rstrip("=")) == base64.b64decode(encoded)


@pytest.mark.parametrize("body", [b"this is not base64 ciphertext", b"", b"AAAA", b"x" * 32])
def test_garbage_is_a_decryption_error(cipher: MessageCipher, body: bytes) -> None:
    with pytest.raises(DecryptionError):
        cipher.decode_json(body, 1)
    with pytest.raises(DecryptionError):
        cipher.decode_json(body, 2)


def test_non_json_plaintext_is_a_decryption_error(cipher: MessageCipher) -> None:
    with pytest.raises(DecryptionError):
        cipher.decode_json(cipher.encrypt_b64("not json"), 1)


def test_wrong_iv_length_is_refused() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        MessageCipher(PASSWORD, "short")


def test_both_implementations_give_the_same_bytes() -> None:
    key, iv = hashlib.sha256(b"k").digest(), IV.encode()
    openssl, fallback = aes_cbc.OpenSSLAesCbc(key, iv), aes_cbc.CryptographyAesCbc(key, iv)
    for size in (0, 1, 15, 16, 17, 100, 4096, 65_537):
        plain = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
        encrypted = openssl.encrypt(plain)
        assert len(encrypted) == (size // 16 + 1) * 16  # PKCS#7: always a pad, 1-16 bytes
        assert encrypted == fallback.encrypt(plain)
        assert bytes(openssl.decrypt(encrypted)) == plain == fallback.decrypt(encrypted)


@pytest.mark.parametrize("implementation", sorted(IMPLEMENTATIONS))
@pytest.mark.parametrize("last_block", [bytes(16), bytes(15) + b"\x11", b"\x02" * 15 + b"\x03"])
def test_bad_padding_is_refused_by_both(implementation: str, last_block: bytes) -> None:
    key, iv = bytes(32), bytes(16)
    encrypted = aes_cbc.CryptographyAesCbc(key, iv).encrypt(b"x" * 16 + last_block)[:32]
    with pytest.raises(aes_cbc.BadPaddingError):
        IMPLEMENTATIONS[implementation](key, iv).decrypt(encrypted)


def test_openssl_is_used_when_reachable_and_cryptography_otherwise(
        monkeypatch: pytest.MonkeyPatch) -> None:
    key, iv = bytes(32), bytes(16)
    assert isinstance(aes_cbc.aes_cbc_for(key, iv), aes_cbc.OpenSSLAesCbc)

    def unreachable(_key: bytes, _iv: bytes) -> aes_cbc.AesCbc:
        raise OSError("no libcrypto")

    monkeypatch.setattr(aes_cbc, "OpenSSLAesCbc", unreachable)
    assert isinstance(aes_cbc.aes_cbc_for(key, iv), aes_cbc.CryptographyAesCbc)


def test_key_and_iv_sizes_are_checked() -> None:
    with pytest.raises(ValueError, match="32-byte key"):
        aes_cbc.aes_cbc_for(bytes(16), bytes(16))
