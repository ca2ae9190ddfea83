# Starfield: a stateful PyNode. Blender.Noise.random() decides where stars
# are, and the node counts the stars it has placed, dimming later ones: the
# image depends on the order of the calls, which Tessera's `ordered` policy
# fixes (rows from the top, each from the left) at any thread count.
from Blender import Node, Noise


class Starfield(Node.Scripted):
    def __init__(self, sockets):
        sockets.input = [Node.Socket('Density', val=0.02, min=0.0, max=1.0)]
        sockets.output = [Node.Socket('Color', val=[0.0, 0.0, 0.05, 1.0]),
                          Node.Socket('Stars', val=0.0, min=0.0, max=1000000.0)]
        self.stars = 0

    def __call__(self):
        if Noise.random() < self.input.Density:
            self.stars += 1
            brightness = 1.0 / (1.0 + self.stars * 0.01)
            tint = Noise.random()
            self.output.Color = [brightness, brightness * (0.8 + 0.2 * tint), brightness * (0.6 + 0.4 * tint), 1.0]
        else:
            self.output.Color = [0.0, 0.0, 0.05, 1.0]
        self.output.Stars = float(self.stars)


__node__ = Starfield
