"""Writes the textures tests/materialx/conformance/textures.mtlx samples:
small, smooth and repeating (their left and right edges, top and bottom,
meet smoothly), so that every filtered sample has detail to get wrong.

- wave16.hdr: 16 x 16 Radiance HDR, each channel a cosine across the
  texture (r along x, g along y, b diagonally); values m / 256, which the
  format stores exactly.
- wave16a.png: 16 x 16 RGBA PNG, the same waves at 8 bits and an alpha
  that varies too.

  python3 scripts/materialx/textures.py tests/materialx/conformance/textures
"""

import math
import os
import struct
import sys
import zlib

SIZE = 16


def wave(x, y, channel):
    """A byte, 28..228, of channel 0..3 at texel (x, y) (row 0 at the top)."""
    phase = [x, y, x + 2 * y, 2 * x - y][channel] / SIZE
    return round(128 + 100 * math.cos(2 * math.pi * phase + channel))


def write_hdr(path):
    with open(path, "wb") as f:
        f.write(b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y %d +X %d\n" % (SIZE, SIZE))
        for y in range(SIZE):
            for x in range(SIZE):
                # Mantissas with exponent 128: m / 256.
                f.write(bytes([wave(x, y, 0), wave(x, y, 1), wave(x, y, 2), 128]))


def write_png(path):
    rows = b"".join(
        b"\0" + bytes(wave(x, y, c) for x in range(SIZE) for c in range(4)) for y in range(SIZE)
    )

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


if __name__ == "__main__":
    folder = sys.argv[1]
    write_hdr(os.path.join(folder, "wave16.hdr"))
    write_png(os.path.join(folder, "wave16a.png"))
