# Clouds: Blender.Noise turbulence between two colours, in the 2.4x style.
from Blender import Node, Noise


class Clouds(Node.Scripted):
    def __init__(self, sockets):
        sockets.input = [
            Node.Socket('Coords', val=3 * [1.0]),
            Node.Socket('Scale', val=3.0, min=0.1, max=100.0),
            Node.Socket('Depth', val=4.0, min=1.0, max=8.0),
            Node.Socket('Sky', val=[0.18, 0.35, 0.75, 1.0]),
            Node.Socket('Cloud', val=[1.0, 1.0, 1.0, 1.0]),
        ]
        sockets.output = [Node.Socket('Color', val=4 * [1.0]), Node.Socket('Value', val=0.0)]

    def __call__(self):
        x, y, z = self.input.Coords
        s = self.input.Scale
        p = (x * s, y * s, z * s)
        t = Noise.turbulence(p, int(self.input.Depth), 0, Noise.NoiseTypes.NEWPERLIN)
        v = 0.5 + 0.5 * t
        v = max(0.0, min(1.0, v))
        sky, cloud = self.input.Sky, self.input.Cloud
        self.output.Color = [sky[i] + (cloud[i] - sky[i]) * v for i in range(4)]
        self.output.Value = v


__node__ = Clouds
