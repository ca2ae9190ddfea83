"""The reference for the tile benchmark: the same numpy code
(TileRipples.evaluate_tile of scripts/ripples_tile.py) run once on the whole
512 x 512 image, as a numpy user would. Prints the best of N wall times."""
import sys
import time
import types

import numpy as np


def main():
    from tessera_stub import load_script  # a minimal `tessera` for the script

    node = load_script("ripples_tile").TileRipples()
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 512
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        ys, xs = np.mgrid[0:size, 0:size]
        uv = np.stack([(xs.ravel() + 0.5) / size, 1.0 - (ys.ravel() + 0.5) / size], axis=1).astype(np.float32)
        n = len(uv)
        color = np.tile(np.array([0.3, 0.7, 1.0, 1.0], dtype=np.float32), (n, 1))
        wavelength = np.full(n, 0.07, dtype=np.float32)
        out = node.evaluate_tile(types.SimpleNamespace(), uv, color, wavelength)
        np.ascontiguousarray(out["color"], dtype=np.float32)
        best = min(best, time.perf_counter() - start)
    print(f"{best:.4f}")


if __name__ == "__main__":
    main()
