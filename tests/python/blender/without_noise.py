"""A `mathutils` without a noise module (the standalone PyPI package is
one): Blender.Noise is Tessera's clean-room noise. Run by tests/pynodes.rs."""
from Blender import Node, Noise
import mathutils

assert Noise.backend == "tessera clean-room", Noise.backend
assert -1.0 <= Noise.noise((0.3, 0.7, 0.1)) <= 1.0


class WithoutNoise(Node.Scripted):
    def __init__(self, sockets):
        sockets.output = [Node.Socket("Color", val=4 * [0.5])]

    def __call__(self):
        pass
