# Bumps: a PyNode writing a normal. The surface normal tilted by the slope
# of a noise height field, the slope taken over one pixel's footprint
# (self.shi.textureD); also the normal as a normal-map colour, the height
# and a simple lit colour.
from Blender import Node, Noise
from Blender.Mathutils import Vector


class Bumps(Node.Scripted):
    def __init__(self, sockets):
        sockets.input = [Node.Socket('Coords', val=3 * [1.0]),
                         Node.Socket('Scale', val=6.0, min=0.1, max=100.0),
                         Node.Socket('Strength', val=0.6, min=0.0, max=10.0)]
        sockets.output = [Node.Socket('Normal', val=[0.0, 0.0, -1.0]),
                          Node.Socket('NormalMap', val=[0.5, 0.5, 0.0, 1.0]),
                          Node.Socket('Height', val=0.0),
                          Node.Socket('Color', val=4 * [1.0])]

    def height(self, p):
        s = self.input.Scale
        return Noise.noise((p[0] * s, p[1] * s, p[2] * s), Noise.NoiseTypes.STDPERLIN)

    def __call__(self):
        p = Vector(self.input.Coords)
        dx, dy = self.shi.textureD
        h = self.height(p)
        step = max(dx.length, dy.length)
        slope_x = (self.height(p + dx) - h) / step
        slope_y = (self.height(p + dy) - h) / step
        k = self.input.Strength / self.input.Scale
        normal = Vector(self.shi.surfaceNormal) + Vector(k * slope_x, k * slope_y, 0.0)
        normal.normalize()
        light = Vector(-0.4, 0.5, -0.75).normalize()
        lit = max(0.0, normal * light)  # 2.4x: Vector * Vector is the dot product
        base = self.shi.color
        self.output.Normal = normal
        self.output.NormalMap = [0.5 + 0.5 * normal.x, 0.5 + 0.5 * normal.y, 0.5 - 0.5 * normal.z, 1.0]
        self.output.Height = h
        self.output.Color = [base[0] * lit, base[1] * lit, base[2] * lit, 1.0]


__node__ = Bumps
