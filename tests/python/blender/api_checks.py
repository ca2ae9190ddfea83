"""Checks of the Blender package that PyNode scripts get, run at import by
`tessera check api_checks.toml` (tests/pynodes.rs): a failed assert is a
located error, exit 2. Blender.Noise is Tessera's clean-room noise here."""
import math

from Blender import Mathutils, Node, Noise, Scene, Window
from Blender.Mathutils import AngleBetweenVecs, Matrix, RotationMatrix, Vector


def close(a, b, tolerance=1e-9):
    return all(abs(x - y) <= tolerance for x, y in zip(a, b)) if isinstance(a, (list, tuple, Vector)) else abs(a - b) <= tolerance


# Mathutils, 2.4x semantics.
v = Vector(3.0, 4.0, 0.0)
assert v.normalize() is v and close(v, [0.6, 0.8, 0.0]), v
assert Vector(1, 2, 3) * Vector(4, 5, 6) == 32.0
assert close(Vector(1, 2, 3) * 2, [2, 4, 6]) and close(2 * Vector(1, 2, 3), [2, 4, 6])
assert close(AngleBetweenVecs(Vector(1, 0, 0), Vector(0, 1, 0)), 90.0)
assert close(Mathutils.CrossVecs(Vector(1, 0, 0), Vector(0, 1, 0)), [0, 0, 1])
assert close(Mathutils.DotVecs([1, 2, 3], [1, 1, 1]), 6.0)
assert close(Mathutils.MidpointVecs(Vector(0, 0, 0), Vector(2, 4, 6)), [1, 2, 3])
assert close(Mathutils.ProjectVecs(Vector(1, 1, 0), Vector(2, 0, 0)), [1, 0, 0])
w = Vector(1, 2, 3)
assert w.negate() is w and close(w, [-1, -2, -3])
assert len(Vector(1, 2).resize3D()) == 3 and close(Vector(1, 2, 3).resize4D(), [1, 2, 3, 1])
assert close(Vector(1, 2, 3).zyx, [3, 2, 1]) and Vector(1, 2, 3).y == 2.0
assert close(Vector(0, 0, 5).length, 5.0) and Vector() == [0, 0, 0]
m = Matrix([1, 2], [3, 4])
assert close(m * Vector(1, 1), [3, 7]), "Matrix * Vector multiplies a column"
assert close(Vector(1, 1) * m, [4, 6]), "Vector * Matrix multiplies a row"
assert close(m.determinant(), -2.0)
inverse = m.copy().invert()
assert close((m * inverse)[0], [1, 0]) and close((m * inverse)[1], [0, 1])
assert close(RotationMatrix(90, 3, "z") * Vector(1, 0, 0), [0, -1, 0], 1e-12)
assert close(m.copy().transpose()[0], [1, 3])
try:
    AngleBetweenVecs(Vector(0, 0, 0), Vector(1, 0, 0))
    raise AssertionError("a zero vector has no angle")
except AttributeError:
    pass

# Node: sockets typed by their value, as in 2.4x.
assert Node.Socket("a").type == Node.VALUE and Node.Socket("a").val == 0.0
assert Node.Socket("b", val=3 * [1.0]).type == Node.VECTOR
assert Node.Socket("c", val=4 * [1.0]).type == Node.RGBA
assert (Node.Socket("d").min, Node.Socket("d").max) == (0.0, 1.0)
for bad in ([1.0, 2.0], "text"):
    try:
        Node.Socket("e", val=bad)
        raise AssertionError(f"{bad!r} is no socket value")
    except TypeError:
        pass
lists = Node._SocketLists()
lists.i = (Node.Socket("x"),)
assert [s.name for s in lists.input] == ["x"]
try:
    lists.output = (Node.Socket("y"),)
    raise AssertionError("sockets.output must be a list")
except AttributeError:
    pass

# Noise: the generator is MT19937, init_genrand(seed), genrand_real2.
Noise.setRandomSeed(5489)
assert Noise.random() == 3499211612 / 4294967296.0
assert Noise.random() == 581869302 / 4294967296.0
Noise.setRandomSeed(5489)
assert Noise.random() == 3499211612 / 4294967296.0
u = Noise.randuvec()
assert close(math.sqrt(sum(c * c for c in u)), 1.0, 1e-12)

# Noise: every basis in its range over 2,000 points; fractal semantics.
Noise.setRandomSeed(1)
points = [[200.0 * Noise.random() - 100.0 for _ in range(3)] for _ in range(2000)]
types = Noise.NoiseTypes
for basis in (types.BLENDER, types.STDPERLIN, types.NEWPERLIN, types.CELLNOISE):
    values = [Noise.noise(p, basis) for p in points]
    assert -1.0 <= min(values) < -0.5 and 0.5 < max(values) <= 1.0, (basis, min(values), max(values))
for basis in (types.VORONOI_F1, types.VORONOI_F2, types.VORONOI_F3, types.VORONOI_F4, types.VORONOI_F2F1):
    values = [Noise.noise(p, basis) for p in points]
    assert -1.0 <= min(values) and max(values) < 2.5, (basis, min(values), max(values))
crackle = [Noise.noise(p, types.VORONOI_CRACKLE) for p in points]
assert -1.0 <= min(crackle) and max(crackle) <= 1.0
p = (0.3, 0.7, 0.1)
n = Noise.noise(p)
assert Noise.turbulence(p, 0, 0) == n == Noise.turbulence(p, 1, 0)
assert close(Noise.turbulence(p, 2, 0), n + 0.5 * Noise.noise((0.6, 1.4, 0.2)))
assert close(Noise.turbulence(p, 2, 1), abs(n) + 0.5 * abs(Noise.noise((0.6, 1.4, 0.2))))
assert close(Noise.fBm(p, 1.0, 2.0, 1), n) and close(Noise.fBm(p, 1.0, 2.0, 2), Noise.turbulence(p, 2, 0))
assert len(Noise.vNoise(p)) == 3 and len(Noise.vTurbulence(p, 3, 1)) == 3 and len(Noise.cellNoiseV(p)) == 3
assert Noise.cellNoise((0.1, 0.2, 0.3)) == Noise.cellNoise((0.9, 0.8, 0.7)) != Noise.cellNoise((1.1, 0.2, 0.3))
distances, features = Noise.voronoi(p)
assert distances == sorted(distances) and len(features) == 4
assert all(close(math.dist(p, f), d) for d, f in zip(distances, features))
for metric in range(7):
    assert len(Noise.voronoi(p, metric)[0]) == 4
for fractal in (Noise.multiFractal(p, 1.0, 2.0, 4.5), Noise.heteroTerrain(p, 1.0, 2.0, 4, 1.0),
                Noise.hybridMFractal(p, 1.0, 2.0, 4, 1.0, 1.0), Noise.ridgedMFractal(p, 1.0, 2.0, 4, 1.0, 1.0),
                Noise.vlNoise(p, 1.0, 1, 2)):
    assert math.isfinite(fractal)
try:
    Noise.noise(p, 9)
    raise AssertionError("9 is no noise type")
except ValueError:
    pass
assert Noise.backend == "tessera clean-room", Noise.backend

# Scene before the render: Blender's defaults; a camera at the origin.
render = Scene.GetCurrent().getRenderingContext()
assert (render.currentFrame(), render.framesPerSec()) == (1, 25)
assert Scene.GetCurrent().getCurrentCamera().getMatrix() == Matrix()
assert Scene.GetCurrent().objects == [] and Window.GetScreenSize() == (100, 100)


class Checks(Node.Scripted):
    """Checks, per sample, what the render tells Scene and self.shi: rendered
    with `--frame 12` by tests/pynodes.rs, in a 4 x 2 image at 30 fps."""

    def __init__(self, sockets):
        sockets.output = [Node.Socket("Color", val=4 * [0.0])]

    def __call__(self):
        render = Scene.GetCurrent().getRenderingContext()
        assert (render.currentFrame(), render.framesPerSec()) == (12, 30), render.currentFrame()
        assert (render.imageSizeX(), render.imageSizeY()) == (4, 2) == Window.GetScreenSize()
        shi = self.shi
        x, y = shi.pixel
        assert close(shi.texture, [(x + 0.5) / 4.0, 1.0 - (y + 0.5) / 2.0, 0.0], 1e-6), (shi.pixel, shi.texture)
        assert shi.textureGlobal == shi.texture and shi.surfaceNormal == [0.0, 0.0, -1.0]
        dx, dy = shi.textureD
        assert close(dx, [0.25, 0.0, 0.0]) and close(dy, [0.0, 0.5, 0.0])
        assert close(shi.color, [0.8, 0.8, 0.8]) and shi.ambient == 0.5
        self.output.Color = list(shi.color) + [1.0]
