"""The numpy node's work without Tessera: TileRipples.evaluate_tile of
scripts/ripples_tile.py over a SIZE x SIZE image in 64 x 64 tiles, in a
plain Python loop, as `ROUNDS` images. `SHARE/OF` takes every OF-th tile
from the SHARE-th, so that OF processes started at once split the tiles as
Tessera's worker processes do. Waits until the wall clock reads START, so
that every process starts its work together after its own start-up; prints
the wall clock when it finished.

    python numpy_tiles.py SIZE ROUNDS SHARE OF START"""
import math
import sys
import time
import types

import numpy as np
import numpy.random  # noqa: F401  (Tessera imports it before a render: malloc keeps freed memory after it)


def main():
    size, rounds, share, of = (int(v) for v in sys.argv[1:5])
    start = float(sys.argv[5])
    from tessera_stub import load_script  # a minimal `tessera` for the script

    node = load_script("ripples_tile").TileRipples()
    tile = 64
    n = tile * tile
    color = np.tile(np.array([0.3, 0.7, 1.0, 1.0], dtype=np.float32), (n, 1))
    wavelength = np.full(n, 0.07, dtype=np.float32)
    ys, xs = np.mgrid[0:tile, 0:tile]
    tiles = [(x, y) for y in range(0, size, tile) for x in range(0, size, tile)][share::of]
    ctx = types.SimpleNamespace()
    while time.time() < start:
        time.sleep(0.001)
    for _ in range(rounds):
        for x, y in tiles:
            uv = np.stack([(xs.ravel() + x + 0.5) / size, 1.0 - (ys.ravel() + y + 0.5) / size], axis=1)
            out = node.evaluate_tile(ctx, uv.astype(np.float32), color, wavelength)
            np.asfortranarray(out["color"], dtype=np.float32)
    print(f"{time.time():.6f}")


if __name__ == "__main__":
    assert math.isfinite(float(sys.argv[5]))
    main()
