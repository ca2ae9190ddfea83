"""The reference for the MaterialX benchmark: scripts/bench/materialx.mtlx's
image as a whole-image numpy script, float32 like Tessera, node by node.
Prints the best of N wall times: materialx_numpy.py SIZE RUNS."""
import numpy as np


def render(size):
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    u = (xs + 0.5) / size
    v = 1.0 - (ys + 0.5) / size
    slant = u * 8 * 1.0 + v * 8 * 0.5
    waves = np.sin(slant)
    radius = np.sqrt((u - 0.5) ** 2 + (v - 0.5) ** 2)
    rings = np.cos(radius * 40)
    pattern = (waves + rings) * 0.25 + 0.5
    t = np.clip((pattern - 0.3) / 0.4, 0, 1)
    band = (t * t * (3 - 2 * t))[..., None]
    colour = np.array([0.1, 0.2, 0.5], np.float32) * (1 - band) + np.array([0.9, 0.6, 0.2], np.float32) * band
    cells = np.floor(u * 16) + np.floor(v * 16)
    odd = (cells - 2.0 * np.floor(cells / 2.0))[..., None]
    checks = np.float32(0.7) * (1 - odd) + np.float32(1.0) * odd
    tiled = colour * checks
    graded = (tiled - 0.5) * 1.3 + 0.5
    final = np.power(np.clip(graded, 0, 1), np.float32(0.8))
    return np.concatenate([final, np.ones((size, size, 1), np.float32)], axis=2)


if __name__ == "__main__":
    from best_of import print_best_time

    print_best_time(render, 2048)
