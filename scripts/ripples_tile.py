"""Ripples, vectorised: `evaluate_tile` computes a whole tile with numpy
(needs numpy); `__call__` is the same per sample, so that
`--python-mode per-sample` can check one against the other."""
import math

import numpy as np

import tessera


class TileRipples(tessera.Node):
    """Concentric ripples around a centre, a tile at a time."""

    inputs = {
        "uv": tessera.Vector2(tessera.TEXCOORD),
        "color": tessera.Color((1.0, 1.0, 1.0, 1.0)),
        "wavelength": tessera.Float(0.1, min=0.001, max=10.0),
    }
    outputs = {"color": tessera.Color(), "height": tessera.Float()}
    pure = True

    def __call__(self, ctx, uv, color, wavelength):
        d = math.hypot(uv[0] - 0.5, uv[1] - 0.5)
        h = 0.5 + 0.5 * math.cos(d / wavelength * 2.0 * math.pi)
        return {"color": tuple(c * h for c in color[:3]) + (color[3],), "height": h}

    def evaluate_tile(self, ctx, uv, color, wavelength):
        # float64 throughout, as Python's floats in __call__.
        uv = uv.astype(np.float64)
        d = np.hypot(uv[:, 0] - 0.5, uv[:, 1] - 0.5)
        h = 0.5 + 0.5 * np.cos(d / wavelength.astype(np.float64) * 2.0 * math.pi)
        rgb = color[:, :3].astype(np.float64) * h[:, None]
        return {"color": np.concatenate([rgb, color[:, 3:4]], axis=1), "height": h}
