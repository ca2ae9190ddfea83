"""A vector shown as a colour, for PyNodes whose outputs are vectors (a
normal, say): scripts/pynode-check links one to it."""
import tessera


class VectorAsColor(tessera.Node):
    """Each component mapped from [-1, 1] to [0, 1]; opaque."""

    inputs = {"vector": tessera.Vector3()}
    outputs = {"color": tessera.Color()}
    pure = True

    def __call__(self, ctx, vector):
        x, y, z = vector
        return (0.5 + 0.5 * x, 0.5 + 0.5 * y, 0.5 + 0.5 * z, 1.0)
