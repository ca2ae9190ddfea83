# Tiles: a texture from Coords, in the Blender 2.4x PyNode style.
# Bricks of `size` rows per unit, every other row shifted by half a brick,
# with mortar lines of width `mortar`; each brick gets a shade of its own.
from Blender import Node
from math import floor


class Tiles(Node.Scripted):
    def __init__(self, sockets):
        coords = Node.Socket('Coords', val=3 * [1.0])
        size = Node.Socket('size', val=4.0, min=1.0, max=64.0)
        mortar = Node.Socket('mortar', val=0.08, min=0.0, max=0.5)
        brick = Node.Socket('Brick', val=[0.62, 0.22, 0.12, 1.0])
        joint = Node.Socket('Joint', val=[0.85, 0.82, 0.75, 1.0])
        sockets.input = [coords, size, mortar, brick, joint]
        sockets.output = [Node.Socket('Color', val=4 * [1.0]), Node.Socket('Mortar', val=0.0)]

    def __call__(self):
        x, y, z = self.input.Coords
        size = self.input.size
        row = floor(y * size)
        shifted = x * size * 0.5 + (0.5 if int(row) % 2 else 0.0)
        column = floor(shifted)
        fx = shifted - column
        fy = y * size - row
        m = self.input.mortar
        in_mortar = fx < m * 0.5 or fx > 1.0 - m * 0.5 or fy < m or fy > 1.0 - m
        if in_mortar:
            self.output.Color = self.input.Joint
            self.output.Mortar = 1.0
        else:
            shade = 0.75 + 0.25 * (((int(column) * 7 + int(row) * 13) % 5) / 4.0)
            r, g, b, a = self.input.Brick
            self.output.Color = [r * shade, g * shade, b * shade, a]
            self.output.Mortar = 0.0


__node__ = Tiles
