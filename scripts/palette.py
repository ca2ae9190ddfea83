"""A palette lookup with numpy.interp (needs numpy: pip install numpy)."""
import numpy as np

import tessera

# A sunset: positions and RGB stops.
POSITIONS = np.array([0.0, 0.3, 0.55, 0.8, 1.0])
STOPS = np.array(
    [
        [0.05, 0.02, 0.15],
        [0.45, 0.05, 0.35],
        [0.95, 0.35, 0.15],
        [1.0, 0.75, 0.3],
        [1.0, 0.95, 0.8],
    ]
)


class Palette(tessera.Node):
    """Maps a value in 0..1 through a five-stop sunset palette."""

    inputs = {"value": tessera.Float(0.5)}
    outputs = {"color": tessera.Color()}
    pure = True

    def __call__(self, ctx, value):
        rgb = [float(np.interp(value, POSITIONS, STOPS[:, c])) for c in range(3)]
        return (rgb[0], rgb[1], rgb[2], 1.0)

    def evaluate_tile(self, ctx, value):
        """The same for a whole tile at once (used unless --python-mode per-sample)."""
        value = value.astype(np.float64)
        return np.stack([np.interp(value, POSITIONS, STOPS[:, c]) for c in range(3)], axis=1)
