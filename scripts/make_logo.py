"""Draw logo.png: a chat bubble with three dots on a transparent background.

Our own drawing, made with the standard library only (zlib + PNG chunks), so anyone can
regenerate it: python scripts/make_logo.py
"""

from __future__ import annotations

import math
import struct
import zlib
from pathlib import Path

SIZE = 128
SUPERSAMPLE = 4
BUBBLE = (16, 163, 127)  # teal
DOT = (255, 255, 255)


def inside_rounded_rect(x: float, y: float, box: tuple[float, float, float, float],
                        radius: float) -> bool:
    left, top, right, bottom = box
    cx = min(max(x, left + radius), right - radius)
    cy = min(max(y, top + radius), bottom - radius)
    return left <= x <= right and top <= y <= bottom and math.hypot(x - cx, y - cy) <= radius


def inside_tail(x: float, y: float) -> bool:
    """A triangle under the bubble's lower left, pointing down-left."""
    (ax, ay), (bx, by), (cx, cy) = (30, 90), (56, 90), (22, 116)
    d1 = (x - bx) * (ay - by) - (ax - bx) * (y - by)
    d2 = (x - cx) * (by - cy) - (bx - cx) * (y - cy)
    d3 = (x - ax) * (cy - ay) - (cx - ax) * (y - ay)
    has_neg = d1 < 0 or d2 < 0 or d3 < 0
    has_pos = d1 > 0 or d2 > 0 or d3 > 0
    return not (has_neg and has_pos)


def colour_at(x: float, y: float) -> tuple[int, int, int] | None:
    for dot_x in (42, 64, 86):
        if math.hypot(x - dot_x, y - 58) <= 8:
            return DOT
    if inside_rounded_rect(x, y, (10, 18, 118, 96), 22) or inside_tail(x, y):
        return BUBBLE
    return None


def render() -> bytes:
    rows = []
    step = 1 / SUPERSAMPLE
    for py in range(SIZE):
        row = bytearray([0])  # filter type 0
        for px in range(SIZE):
            r = g = b = hits = 0
            for sy in range(SUPERSAMPLE):
                for sx in range(SUPERSAMPLE):
                    colour = colour_at(px + (sx + 0.5) * step, py + (sy + 0.5) * step)
                    if colour:
                        r, g, b, hits = r + colour[0], g + colour[1], b + colour[2], hits + 1
            if hits:
                alpha = round(255 * hits / SUPERSAMPLE**2)
                row += bytes([r // hits, g // hits, b // hits, alpha])
            else:
                row += bytes(4)
        rows.append(bytes(row))
    return b"".join(rows)


def png(raw: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


if __name__ == "__main__":
    target = Path(__file__).resolve().parent.parent / "logo.png"
    target.write_bytes(png(render()))
    print(f"wrote {target} ({target.stat().st_size} bytes)")
