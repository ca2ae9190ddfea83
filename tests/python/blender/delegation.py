"""With Blender's mathutils.noise importable (here a stand-in that returns
its arguments: fake_mathutils/), Blender.Noise calls it with the 2.4x
arguments translated to today's names. Run at import by tests/pynodes.rs."""
from Blender import Node, Noise

assert Noise.backend == "mathutils.noise", Noise.backend
p = (1, 2, 3)
f = (1.0, 2.0, 3.0)
expected = [
    (Noise.noise(p), ("noise", (f,), {"noise_basis": "PERLIN_ORIGINAL"})),
    (Noise.noise(p, Noise.NoiseTypes.BLENDER), ("noise", (f,), {"noise_basis": "BLENDER"})),
    (Noise.noise(p, 14), ("noise", (f,), {"noise_basis": "CELLNOISE"})),
    (Noise.vNoise(p, 8), [("noise_vector", (f,), {"noise_basis": "VORONOI_CRACKLE"})]),
    (Noise.turbulence(p, 3, 1, 2, 0.4, 2.5),
     ("turbulence", (f, 3, True), {"noise_basis": "PERLIN_NEW", "amplitude_scale": 0.4, "frequency_scale": 2.5})),
    (Noise.vTurbulence(p, 2, 0),
     [("turbulence_vector", (f, 2, False), {"noise_basis": "PERLIN_ORIGINAL", "amplitude_scale": 0.5,
                                             "frequency_scale": 2.0})]),
    (Noise.fBm(p, 0.5, 2.0, 4, 3), ("fractal", (f, 0.5, 2.0, 4.0), {"noise_basis": "VORONOI_F1"})),
    (Noise.multiFractal(p, 0.5, 2.0, 4), ("multi_fractal", (f, 0.5, 2.0, 4.0), {"noise_basis": "PERLIN_ORIGINAL"})),
    (Noise.heteroTerrain(p, 1, 2, 3, 0.5, 7), ("hetero_terrain", (f, 1.0, 2.0, 3.0, 0.5), {"noise_basis": "VORONOI_F2F1"})),
    (Noise.hybridMFractal(p, 1, 2, 3, 0.5, 1.5, 6),
     ("hybrid_multi_fractal", (f, 1.0, 2.0, 3.0, 0.5, 1.5), {"noise_basis": "VORONOI_F4"})),
    (Noise.ridgedMFractal(p, 1, 2, 3, 0.5, 1.5, 4),
     ("ridged_multi_fractal", (f, 1.0, 2.0, 3.0, 0.5, 1.5), {"noise_basis": "VORONOI_F2"})),
    (Noise.vlNoise(p, 0.7, 5, 0),
     ("variable_lacunarity", (f, 0.7), {"noise_type1": "VORONOI_F3", "noise_type2": "BLENDER"})),
    (Noise.voronoi(p, 6, 3.0), [[("voronoi", (f,), {"distance_metric": "MINKOVSKY", "exponent": 3.0})],
                                [[("voronoi", (f,), {"distance_metric": "MINKOVSKY", "exponent": 3.0})]]]),
    (Noise.voronoi(p), [[("voronoi", (f,), {"distance_metric": "DISTANCE", "exponent": 2.5})],
                        [[("voronoi", (f,), {"distance_metric": "DISTANCE", "exponent": 2.5})]]]),
    (Noise.cellNoise(p), ("cell", (f,), {})),
    (Noise.cellNoiseV(p), [("cell_vector", (f,), {})]),
]
for got, want in expected:
    assert got == want, f"{got} != {want}"
# The random numbers stay Tessera's, seeded from the scene.
Noise.setRandomSeed(5489)
assert Noise.random() == 3499211612 / 4294967296.0


class Delegation(Node.Scripted):
    def __init__(self, sockets):
        sockets.output = [Node.Socket("Color", val=4 * [0.5])]

    def __call__(self):
        pass
