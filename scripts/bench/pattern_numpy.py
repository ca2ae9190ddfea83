"""The reference for the native benchmark: scripts/bench/pattern.toml's
image as a whole-image numpy script, float32 like Tessera. Prints the best
of N wall times."""
import numpy as np


def render(size):
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    u = (xs + 0.5) / size
    v = 1.0 - (ys + 0.5) / size
    cells = np.floor(u * 16) + np.floor(v * 16)
    odd = (cells - 2.0 * np.floor(cells / 2.0))[..., None]
    board = np.array([0.9, 0.85, 0.7], np.float32) * (1 - odd) + np.array([0.1, 0.15, 0.3], np.float32) * odd
    across = np.clip(u, 0, 1)
    t = np.clip(v, 0, 1)[..., None]
    up = np.array([0.8, 0.3, 0.1], np.float32) * (1 - t) + np.array([0.1, 0.3, 0.8], np.float32) * t
    s = np.clip((across - 0.3) / 0.4, 0, 1)
    band = (s * s * (3 - 2 * s))[..., None]
    blend = up * (1 - band) + board * band
    lit = blend * across[..., None]
    return np.concatenate([lit, np.ones((size, size, 1), np.float32)], axis=2)


if __name__ == "__main__":
    from best_of import print_best_time

    print_best_time(render, 1024)
