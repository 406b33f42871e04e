"""Image files for the tests and the stand-in: real pngs of one colour (any size, padded
to any length with a private chunk, still valid), and jpeg and webp files that are such
only by their leading bytes (enough for every check of ours and of the stand-in)."""

from __future__ import annotations

import hashlib
import struct
import zlib

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# The leading bytes of the jpeg and webp files made here.
JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
WEBP_BRAND = b"WEBPVP8 "


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def png_bytes(width: int, height: int, colour: bytes, padding: int = 0) -> bytes:
    """A valid png of one colour (RGB); `padding` bytes more in a private chunk."""
    row = b"\x00" + colour * width
    pixels = zlib.compress(row * height, 9)
    chunks = [_png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)),
              _png_chunk(b"IDAT", pixels)]
    if padding:
        chunks.append(_png_chunk(b"pdDg", b"\x00" * padding))
    return PNG_SIGNATURE + b"".join(chunks) + _png_chunk(b"IEND", b"")


def image_bytes(output_format: str, size: tuple[int, int], seed: str, padding: int = 0
                ) -> bytes:
    """An image for `seed`: a png of `size` in one colour drawn from the seed (`padding`
    as for :func:`png_bytes`); a jpeg or webp by its leading bytes only."""
    colour = hashlib.sha256(seed.encode("utf-8")).digest()[:3]
    if output_format == "jpeg":
        return JPEG_HEAD + colour * 16 + b"\xff\xd9"
    if output_format == "webp":
        payload = WEBP_BRAND + colour * 16
        return b"RIFF" + struct.pack("<I", len(payload)) + payload
    width, height = size
    return png_bytes(width, height, colour, padding)


def kind_of(data: bytes) -> str | None:
    """png, jpeg or webp by the leading bytes; None for anything else."""
    if data.startswith(PNG_SIGNATURE):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def png_size(data: bytes) -> tuple[int, int]:
    return struct.unpack(">II", data[16:24])


