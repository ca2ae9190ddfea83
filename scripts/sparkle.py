"""Sparkles from ctx.random(): random, yet the same on every run and thread."""
import tessera


class Sparkle(tessera.Node):
    """Scattered sparkles: each sample lights up with a given probability."""

    inputs = {
        "base": tessera.Color((0.0, 0.0, 0.0)),
        "density": tessera.Float(0.02, min=0.0, max=1.0, doc="chance that a sample sparkles"),
        "color": tessera.Color((1.0, 0.95, 0.8)),
    }
    outputs = {"color": tessera.Color()}
    pure = True

    def __call__(self, ctx, base, density, color):
        # Two draws per call: the second depends on the first having been
        # made, never on which thread runs the call.
        if ctx.random() < density:
            brightness = 0.5 + 0.5 * ctx.random()
            return tuple(c * brightness for c in color[:3]) + (1.0,)
        return base
