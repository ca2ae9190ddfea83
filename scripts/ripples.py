"""Concentric ripples: a pure pattern node (the same at any thread count)."""
import math

import tessera


class Ripples(tessera.Node):
    """Concentric ripples around a centre."""

    inputs = {
        "uv": tessera.Vector2(tessera.TEXCOORD),
        "center": tessera.Vector2((0.5, 0.5), doc="the centre of the rings"),
        "color": tessera.Color((1.0, 1.0, 1.0, 1.0)),
        "wavelength": tessera.Float(0.1, min=0.001, max=10.0, doc="distance between rings, in uv units"),
    }
    outputs = {"color": tessera.Color(), "height": tessera.Float()}
    pure = True

    def __call__(self, ctx, uv, center, color, wavelength):
        d = math.hypot(uv[0] - center[0], uv[1] - center[1])
        h = 0.5 + 0.5 * math.cos(d / wavelength * 2.0 * math.pi)
        return {"color": tuple(c * h for c in color[:3]) + (color[3],), "height": h}
