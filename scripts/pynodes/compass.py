# Compass: Blender.Mathutils the 2.4x way. The direction of each point from
# the centre as a hue: AngleBetweenVecs in degrees, normalize() in place,
# Vector * Vector as a dot product.
from Blender import Node
from Blender.Mathutils import Vector, AngleBetweenVecs, CrossVecs
import colorsys


class Compass(Node.Scripted):
    def __init__(self, sockets):
        sockets.input = [Node.Socket('Coords', val=3 * [1.0]),
                         Node.Socket('Centre', val=[0.5, 0.5, 0.0])]
        sockets.output = [Node.Socket('Color', val=4 * [1.0]),
                          Node.Socket('Angle', val=0.0, min=0.0, max=360.0)]
        self.east = Vector(1.0, 0.0, 0.0)

    def __call__(self):
        d = Vector(self.input.Coords) - Vector(self.input.Centre)
        d.z = 0.0
        distance = d.length
        if distance == 0.0:
            self.output.Color = [1.0, 1.0, 1.0, 1.0]
            self.output.Angle = 0.0
            return
        d.normalize()  # in place, as in 2.4x
        angle = AngleBetweenVecs(self.east, d)  # degrees
        if CrossVecs(self.east, d).z < 0.0:
            angle = 360.0 - angle
        facing = d * Vector(0.0, 1.0, 0.0)  # a dot product in 2.4x
        r, g, b = colorsys.hsv_to_rgb(angle / 360.0, 0.8, 0.6 + 0.4 * abs(facing))
        ring = 1.0 if int(distance * 10.0) % 2 else 0.85
        self.output.Color = [r * ring, g * ring, b * ring, 1.0]
        self.output.Angle = angle


__node__ = Compass
