"""A Python-heavy, stateful node for the policy benchmark: ripples shaded
by a running count, so no policy may treat it as pure."""
import math

import tessera


class ShadedRipples(tessera.Node):
    """Ripples whose brightness drifts with the number of calls made."""

    inputs = {
        "uv": tessera.Vector2(tessera.TEXCOORD),
        "base": tessera.Color((0.3, 0.7, 1.0)),
    }
    outputs = {"color": tessera.Color()}

    def setup(self):
        self.calls = 0

    def __call__(self, ctx, uv, base):
        self.calls += 1
        d = math.hypot(uv[0] - 0.5, uv[1] - 0.5)
        h = 0.5 + 0.5 * math.cos(d * 90.0) * (0.9 + 0.1 * math.sin(self.calls * 1e-4))
        return (base[0] * h, base[1] * h, base[2] * h, 1.0)
