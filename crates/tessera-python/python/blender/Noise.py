"""Blender.Noise of Blender 2.4x, for PyNode scripts (docs/blender-pynodes.md).

When Blender's own `mathutils.noise` can be imported (the `bpy` package, or a
`mathutils` build that has it), the noise functions call it and give Blender's
values. Otherwise they are Tessera's clean-room implementations of the same
bases: the same signatures, ranges and character, not the same values (no
Blender code or table is used: Blender is GPL, Tessera MIT or Apache-2.0).
`backend` says which is in use.

`random`, `randuvec` and `setRandomSeed` are always Tessera's: an MT19937
seeded with the scene's seed when first used, unless the script seeded it.
"""

import math as _math
import random as _random

__all__ = [
    "random", "randuvec", "setRandomSeed", "noise", "vNoise", "turbulence", "vTurbulence", "fBm",
    "multiFractal", "vlNoise", "heteroTerrain", "hybridMFractal", "ridgedMFractal", "voronoi",
    "cellNoise", "cellNoiseV", "NoiseTypes", "DistanceMetrics",
]


class _Constants:
    """A read-only set of named integers, as Blender's constant dicts read."""

    def __init__(self, **values):
        self.__dict__.update(values)

    def __setattr__(self, name, value):
        raise AttributeError(f"{name}: Blender.Noise constants are read-only")

    def __repr__(self):
        return "{" + ", ".join(f"'{k}': {v}" for k, v in self.__dict__.items()) + "}"


NoiseTypes = _Constants(
    BLENDER=0, STDPERLIN=1, NEWPERLIN=2, VORONOI_F1=3, VORONOI_F2=4, VORONOI_F3=5, VORONOI_F4=6,
    VORONOI_F2F1=7, VORONOI_CRACKLE=8, CELLNOISE=14,
)
DistanceMetrics = _Constants(
    DISTANCE=0, DISTANCE_SQUARED=1, MANHATTAN=2, CHEBYCHEV=3, MINKOVSKY_HALF=4, MINKOVSKY_FOUR=5, MINKOVSKY=6,
)

# mathutils.noise's names for the 2.4x numbers.
_BASIS_NAMES = {
    0: "BLENDER", 1: "PERLIN_ORIGINAL", 2: "PERLIN_NEW", 3: "VORONOI_F1", 4: "VORONOI_F2", 5: "VORONOI_F3",
    6: "VORONOI_F4", 7: "VORONOI_F2F1", 8: "VORONOI_CRACKLE", 14: "CELLNOISE",
}
_METRIC_NAMES = {
    0: "DISTANCE", 1: "DISTANCE_SQUARED", 2: "MANHATTAN", 3: "CHEBYCHEV", 4: "MINKOVSKY_HALF",
    5: "MINKOVSKY_FOUR", 6: "MINKOVSKY",
}


def _blender_noise():
    """Blender's mathutils.noise, or None. `bpy` provides it once imported."""
    try:
        from mathutils import noise as found

        return found
    except ImportError:
        pass
    import importlib.util

    if importlib.util.find_spec("bpy") is None:
        return None
    try:
        import bpy  # noqa: F401  (registers mathutils)
        from mathutils import noise as found

        return found
    except ImportError:
        return None


_blender = _blender_noise()
backend = "mathutils.noise" if _blender is not None else "tessera clean-room"


def _point(p, what="point"):
    try:
        x, y, z = p
        return float(x), float(y), float(z)
    except (TypeError, ValueError):
        raise TypeError(f"Blender.Noise: the {what} must be a sequence of 3 numbers") from None


def _basis(basis):
    if basis not in _BASIS_NAMES:
        raise ValueError(f"Blender.Noise: unknown noise type {basis!r} (see Blender.Noise.NoiseTypes)")
    return basis


def _metric(metric):
    if metric not in _METRIC_NAMES:
        raise ValueError(f"Blender.Noise: unknown distance metric {metric!r} (see Blender.Noise.DistanceMetrics)")
    return metric


# --- random numbers -------------------------------------------------------

_MASK = 0xFFFFFFFF


class _Generator:
    """MT19937 seeded as its reference `init_genrand(seed)` is: Python's
    `random.Random` is the same generator, its state set to that seeding, so
    each `getrandbits(32)` is one `genrand_int32()`."""

    def __init__(self):
        self._random = _random.Random()
        self.seeded_by_script = False
        self.seeded = False

    def seed(self, seed):
        state = [seed & _MASK]
        for i in range(1, 624):
            previous = state[-1]
            state.append((1812433253 * (previous ^ (previous >> 30)) + i) & _MASK)
        self._random.setstate((3, tuple(state) + (624,), None))
        self.seeded = True

    def next(self):
        if not self.seeded:
            self.seed(_scene_seed())
        return self._random.getrandbits(32) * (1.0 / 4294967296.0)

    def state(self):
        return self.seeded, self.seeded_by_script, self._random.getstate()

    def set_state(self, state):
        self.seeded, self.seeded_by_script, random_state = state
        self._random.setstate(random_state)


_generator = _Generator()

# The generator as the script's top-level code left it, and the render that
# last started from it.
_loaded_state = None
_restored_for = None

# The renderer's facts (Tessera sets `_context` to a function returning the
# sample's ctx, or None before the render starts).
_context = None


def _scene_seed():
    ctx = _context() if _context is not None else None
    return ctx.seed if ctx is not None else 0


def random():
    """A float in [0, 1) from the MT19937 generator."""
    return _generator.next()


def randuvec():
    """A random unit vector, as a list of 3 floats (uniform on the sphere)."""
    z = 2.0 * _generator.next() - 1.0
    angle = 2.0 * _math.pi * _generator.next()
    r = _math.sqrt(max(0.0, 1.0 - z * z))
    return [r * _math.cos(angle), r * _math.sin(angle), z]


def setRandomSeed(seed):
    """Seeds the generator. Blender took seed 0 from the clock; Tessera takes
    the scene's seed, so that renders repeat."""
    seed = int(seed)
    if seed == 0:
        # Seeded from the scene at the next draw: before a render (at the
        # script's top level, in __init__) the scene's seed is not known yet.
        _generator.seeded = _generator.seeded_by_script = False
    else:
        _generator.seed(seed)
        _generator.seeded_by_script = True


def _script_loaded():
    """The script's top-level code has run: every render starts from what it
    did to the generator."""
    global _loaded_state
    _loaded_state = _generator.state()


def _renew(render):
    """Before render `render` (a later frame of a range) makes the script's
    instance again: the generator as the script's loading left it (once per
    render), so that the frame draws what it draws alone."""
    global _restored_for
    if _loaded_state is not None and _restored_for != render:
        _generator.set_state(_loaded_state)
        _restored_for = render


def _begin_render():
    """A render starts: a generator the script did not seed starts again from
    the scene's seed."""
    if not _generator.seeded_by_script:
        _generator.seeded = False


# --- the clean-room bases -------------------------------------------------


def _hash(i, j, k):
    """A well-mixed 32-bit integer of a lattice point."""
    h = (i * 0x8DA6B343 ^ j * 0xD8163841 ^ k * 0xCB1AB31F ^ 0x9E3779B9) & _MASK
    h ^= h >> 16
    h = (h * 0x7FEB352D) & _MASK
    h ^= h >> 15
    h = (h * 0x846CA68B) & _MASK
    return h ^ (h >> 16)


def _fade5(t):
    return t * t * t * (t * (t * 6.0 - 15.0) + 10.0)


def _fade3(t):
    return t * t * (3.0 - 2.0 * t)


def _lattice(x, y, z, corner, fade):
    """Interpolates corner(i, j, k, fx, fy, fz) over the 8 corners of the cell of (x, y, z)."""
    xi, yi, zi = _math.floor(x), _math.floor(y), _math.floor(z)
    fx, fy, fz = x - xi, y - yi, z - zi
    u, v, w = fade(fx), fade(fy), fade(fz)
    c000 = corner(xi, yi, zi, fx, fy, fz)
    c100 = corner(xi + 1, yi, zi, fx - 1.0, fy, fz)
    c010 = corner(xi, yi + 1, zi, fx, fy - 1.0, fz)
    c110 = corner(xi + 1, yi + 1, zi, fx - 1.0, fy - 1.0, fz)
    c001 = corner(xi, yi, zi + 1, fx, fy, fz - 1.0)
    c101 = corner(xi + 1, yi, zi + 1, fx - 1.0, fy, fz - 1.0)
    c011 = corner(xi, yi + 1, zi + 1, fx, fy - 1.0, fz - 1.0)
    c111 = corner(xi + 1, yi + 1, zi + 1, fx - 1.0, fy - 1.0, fz - 1.0)
    x00 = c000 + u * (c100 - c000)
    x10 = c010 + u * (c110 - c010)
    x01 = c001 + u * (c101 - c001)
    x11 = c011 + u * (c111 - c011)
    y0 = x00 + v * (x10 - x00)
    y1 = x01 + v * (x11 - x01)
    return y0 + w * (y1 - y0)


# The 12 edge directions of a cube: Perlin's 2002 gradient set (a published
# algorithm; the choice of each corner's gradient is Tessera's own hash).
_EDGES = [(1, 1, 0), (-1, 1, 0), (1, -1, 0), (-1, -1, 0), (1, 0, 1), (-1, 0, 1),
          (1, 0, -1), (-1, 0, -1), (0, 1, 1), (0, -1, 1), (0, 1, -1), (0, -1, -1)]


def _edge_corner(i, j, k, fx, fy, fz):
    gx, gy, gz = _EDGES[_hash(i, j, k) % 12]
    return gx * fx + gy * fy + gz * fz


def _sphere_corner(i, j, k, fx, fy, fz):
    """A gradient of random direction and length up to 1 (Perlin's 1985 noise)."""
    h = _hash(i, j, k)
    gx = (h & 0x3FF) * (2.0 / 1023.0) - 1.0
    gy = ((h >> 10) & 0x3FF) * (2.0 / 1023.0) - 1.0
    gz = ((h >> 20) & 0x3FF) * (2.0 / 1023.0) - 1.0
    return gx * fx + gy * fy + gz * fz


def _value_corner(i, j, k, fx, fy, fz):
    return _hash(i, j, k) * (1.0 / 4294967295.0)


# Scales giving each basis the standard deviation of Blender's, measured
# with mathutils.noise over 20,000 random points in [-50, 50]^3 (0.265 for
# NEWPERLIN, 0.279 for STDPERLIN; the lattice sums here have 0.271 and 0.183).
_NEWPERLIN_SCALE = 0.265 / (2.0 * 0.271)
_STDPERLIN_SCALE = 0.279 / (2.0 * 0.183)


def _new_perlin(x, y, z):
    return 0.5 + _NEWPERLIN_SCALE * _lattice(x, y, z, _edge_corner, _fade5)


def _std_perlin(x, y, z):
    return min(1.0, max(0.0, 0.5 + _STDPERLIN_SCALE * _lattice(x, y, z, _sphere_corner, _fade3)))


def _blender_original(x, y, z):
    """A smooth value noise in [0, 1]: the blobby character of Blender's first basis."""
    return _lattice(x, y, z, _value_corner, _fade3)


def _distance(metric, exponent):
    if metric == 0:
        return lambda dx, dy, dz: _math.sqrt(dx * dx + dy * dy + dz * dz)
    if metric == 1:
        return lambda dx, dy, dz: dx * dx + dy * dy + dz * dz
    if metric == 2:
        return lambda dx, dy, dz: abs(dx) + abs(dy) + abs(dz)
    if metric == 3:
        return lambda dx, dy, dz: max(abs(dx), abs(dy), abs(dz))
    if metric == 4:
        return lambda dx, dy, dz: (_math.sqrt(abs(dx)) + _math.sqrt(abs(dy)) + _math.sqrt(abs(dz))) ** 2
    if metric == 5:
        return lambda dx, dy, dz: (dx**4 + dy**4 + dz**4) ** 0.25
    e = float(exponent) if exponent else 1.0
    return lambda dx, dy, dz: (abs(dx) ** e + abs(dy) ** e + abs(dz) ** e) ** (1.0 / e)


_EUCLIDEAN = _distance(0, 2.5)


def _worley(x, y, z, distance=_EUCLIDEAN):
    """Distances to the 4 nearest feature points (one per unit cell, placed
    by the cell's hash) and those points, nearest first."""
    xi, yi, zi = _math.floor(x), _math.floor(y), _math.floor(z)
    found = []
    for i in (xi - 1, xi, xi + 1):
        for j in (yi - 1, yi, yi + 1):
            for k in (zi - 1, zi, zi + 1):
                h = _hash(i, j, k)
                px = i + ((h & 0x3FF) + 0.5) * (1.0 / 1024.0)
                py = j + (((h >> 10) & 0x3FF) + 0.5) * (1.0 / 1024.0)
                pz = k + (((h >> 20) & 0x3FF) + 0.5) * (1.0 / 1024.0)
                found.append((distance(x - px, y - py, z - pz), px, py, pz))
    found.sort()
    return found[:4]


def _cell(x, y, z):
    """A constant value in [0, 1) per unit cell."""
    return _hash(_math.floor(x), _math.floor(y), _math.floor(z)) * (1.0 / 4294967296.0)


def _clean_basis(basis, x, y, z):
    """The basis in [0, 1] (Blender's unsigned noise)."""
    if basis == 1:
        return _std_perlin(x, y, z)
    if basis == 2:
        return _new_perlin(x, y, z)
    if basis == 0:
        return _blender_original(x, y, z)
    if basis == 14:
        return _cell(x, y, z)
    nearest = _worley(x, y, z)
    if 3 <= basis <= 6:
        return nearest[basis - 3][0]
    if basis == 7:
        return nearest[1][0] - nearest[0][0]
    return min(1.0, 10.0 * (nearest[1][0] - nearest[0][0]))


def _signed(basis, x, y, z):
    return 2.0 * _clean_basis(basis, x, y, z) - 1.0


# Offsets of the three noises of a vector noise.
_OFFSETS = ((0.0, 0.0, 0.0), (3.33, 7.71, -1.27), (-5.19, 2.43, 9.87))


def _signed_vector(basis, x, y, z):
    return [_signed(basis, x + ox, y + oy, z + oz) for ox, oy, oz in _OFFSETS]


# --- the functions scripts call -------------------------------------------


def noise(p, type=1):
    """Noise of basis `type` at point p, about [-1, 1]."""
    x, y, z = _point(p)
    if _blender is not None:
        return _blender.noise((x, y, z), noise_basis=_BASIS_NAMES[_basis(type)])
    return _signed(_basis(type), x, y, z)


def vNoise(p, type=1):
    """Three noises at offset points, as a list."""
    x, y, z = _point(p)
    if _blender is not None:
        return list(_blender.noise_vector((x, y, z), noise_basis=_BASIS_NAMES[_basis(type)]))
    return _signed_vector(_basis(type), x, y, z)


def _octave_sum(sample, x, y, z, octaves, hard, ampscale, freqscale):
    """`octaves` samples (at least one), each at `freqscale` times the frequency
    and `ampscale` times the weight of the last; absolute values when hard.
    `sample` gives a float or a list of floats."""

    def at(frequency):
        value = sample(x * frequency, y * frequency, z * frequency)
        if isinstance(value, list):
            return [abs(v) for v in value] if hard else value
        return [abs(value)] if hard else [value]

    total = at(1.0)
    amplitude, frequency = ampscale, freqscale
    for _ in range(1, int(octaves)):
        total = [t + amplitude * v for t, v in zip(total, at(frequency))]
        amplitude *= ampscale
        frequency *= freqscale
    return total


def turbulence(p, octaves, hard, basis=1, ampscale=0.5, freqscale=2.0):
    """The sum of `octaves` noises, each at `freqscale` times the frequency and
    `ampscale` times the amplitude of the last; absolute values when hard."""
    x, y, z = _point(p)
    if _blender is not None:
        return _blender.turbulence(
            (x, y, z), int(octaves), bool(hard), noise_basis=_BASIS_NAMES[_basis(basis)],
            amplitude_scale=float(ampscale), frequency_scale=float(freqscale),
        )
    basis = _basis(basis)
    return _octave_sum(lambda a, b, c: _signed(basis, a, b, c), x, y, z, octaves, hard, ampscale, freqscale)[0]


def vTurbulence(p, octaves, hard, basis=1, ampscale=0.5, freqscale=2.0):
    """turbulence of vNoise, as a list of 3."""
    x, y, z = _point(p)
    if _blender is not None:
        return list(_blender.turbulence_vector(
            (x, y, z), int(octaves), bool(hard), noise_basis=_BASIS_NAMES[_basis(basis)],
            amplitude_scale=float(ampscale), frequency_scale=float(freqscale),
        ))
    basis = _basis(basis)
    return _octave_sum(lambda a, b, c: _signed_vector(basis, a, b, c), x, y, z, octaves, hard, ampscale, freqscale)


# Musgrave's fractals, as published in "Texturing and Modeling: A Procedural
# Approach" (Ebert et al.), over a signed basis.


def fBm(p, H, lacunarity, octaves, basis=1):
    """Fractal Brownian motion: octaves of noise, each `lacunarity` times the
    frequency and lacunarity**-H times the amplitude of the last."""
    x, y, z = _point(p)
    if _blender is not None:
        return _blender.fractal((x, y, z), float(H), float(lacunarity), float(octaves),
                                noise_basis=_BASIS_NAMES[_basis(basis)])
    basis = _basis(basis)
    gain, weight, value = lacunarity ** -H, 1.0, 0.0
    for _ in range(int(octaves)):
        value += _signed(basis, x, y, z) * weight
        weight *= gain
        x, y, z = x * lacunarity, y * lacunarity, z * lacunarity
    remainder = octaves - int(octaves)
    if remainder:
        value += remainder * _signed(basis, x, y, z) * weight
    return value


def multiFractal(p, H, lacunarity, octaves, basis=1):
    """Musgrave's multifractal: the product of (1 + weighted noise) over the octaves."""
    x, y, z = _point(p)
    if _blender is not None:
        return _blender.multi_fractal((x, y, z), float(H), float(lacunarity), float(octaves),
                                      noise_basis=_BASIS_NAMES[_basis(basis)])
    basis = _basis(basis)
    gain, weight, value = lacunarity ** -H, 1.0, 1.0
    for _ in range(int(octaves)):
        value *= weight * _signed(basis, x, y, z) + 1.0
        weight *= gain
        x, y, z = x * lacunarity, y * lacunarity, z * lacunarity
    remainder = octaves - int(octaves)
    if remainder:
        value *= remainder * weight * _signed(basis, x, y, z) + 1.0
    return value


def heteroTerrain(p, H, lacunarity, octaves, offset, basis=1):
    """Musgrave's heterogeneous terrain: smooth valleys, rough peaks."""
    x, y, z = _point(p)
    if _blender is not None:
        return _blender.hetero_terrain((x, y, z), float(H), float(lacunarity), float(octaves), float(offset),
                                       noise_basis=_BASIS_NAMES[_basis(basis)])
    basis = _basis(basis)
    gain = lacunarity ** -H
    value = offset + _signed(basis, x, y, z)
    weight = gain
    x, y, z = x * lacunarity, y * lacunarity, z * lacunarity
    for _ in range(1, int(octaves)):
        value += (_signed(basis, x, y, z) + offset) * weight * value
        weight *= gain
        x, y, z = x * lacunarity, y * lacunarity, z * lacunarity
    remainder = octaves - int(octaves)
    if remainder:
        value += remainder * (_signed(basis, x, y, z) + offset) * weight * value
    return value


def hybridMFractal(p, H, lacunarity, octaves, offset, gain, basis=1):
    """Musgrave's hybrid multifractal."""
    x, y, z = _point(p)
    if _blender is not None:
        return _blender.hybrid_multi_fractal((x, y, z), float(H), float(lacunarity), float(octaves),
                                             float(offset), float(gain), noise_basis=_BASIS_NAMES[_basis(basis)])
    basis = _basis(basis)
    step = lacunarity ** -H
    result = _signed(basis, x, y, z) + offset
    weight, amplitude = gain * result, step
    x, y, z = x * lacunarity, y * lacunarity, z * lacunarity
    for _ in range(1, int(octaves)):
        weight = min(weight, 1.0)
        signal = (_signed(basis, x, y, z) + offset) * amplitude
        amplitude *= step
        result += weight * signal
        weight *= gain * signal
        x, y, z = x * lacunarity, y * lacunarity, z * lacunarity
    remainder = octaves - int(octaves)
    if remainder:
        result += remainder * (_signed(basis, x, y, z) + offset) * amplitude
    return result


def ridgedMFractal(p, H, lacunarity, octaves, offset, gain, basis=1):
    """Musgrave's ridged multifractal: sharp ridges where the noise crosses zero."""
    x, y, z = _point(p)
    if _blender is not None:
        return _blender.ridged_multi_fractal((x, y, z), float(H), float(lacunarity), float(octaves),
                                             float(offset), float(gain), noise_basis=_BASIS_NAMES[_basis(basis)])
    basis = _basis(basis)
    step = lacunarity ** -H
    signal = offset - abs(_signed(basis, x, y, z))
    signal *= signal
    result, amplitude = signal, step
    for _ in range(1, int(octaves)):
        x, y, z = x * lacunarity, y * lacunarity, z * lacunarity
        weight = min(1.0, max(0.0, signal * gain))
        signal = offset - abs(_signed(basis, x, y, z))
        signal *= signal * weight
        result += signal * amplitude
        amplitude *= step
    return result


def vlNoise(p, distortion, type1=1, type2=1):
    """Variable-lacunarity noise: noise of `type2` at p displaced by a vector
    noise of `type1` scaled by `distortion`."""
    x, y, z = _point(p)
    if _blender is not None:
        return _blender.variable_lacunarity((x, y, z), float(distortion), noise_type1=_BASIS_NAMES[_basis(type1)],
                                            noise_type2=_BASIS_NAMES[_basis(type2)])
    dx, dy, dz = _signed_vector(_basis(type1), x + 13.5, y + 13.5, z + 13.5)
    return _signed(_basis(type2), x + dx * distortion, y + dy * distortion, z + dz * distortion)


def voronoi(p, distance_metric=0, exponent=2.5):
    """[[d1, d2, d3, d4], [p1, p2, p3, p4]]: the distances to the four nearest
    feature points (one per unit cell) and the points, nearest first."""
    x, y, z = _point(p)
    metric = _metric(distance_metric)
    if _blender is not None:
        distances, points = _blender.voronoi((x, y, z), distance_metric=_METRIC_NAMES[metric],
                                             exponent=float(exponent))
        return [list(distances), [list(point) for point in points]]
    nearest = _worley(x, y, z, _distance(metric, exponent))
    return [[d for d, _, _, _ in nearest], [[px, py, pz] for _, px, py, pz in nearest]]


def cellNoise(p):
    """A value in [-1, 1) constant over each unit cell."""
    x, y, z = _point(p)
    if _blender is not None:
        return _blender.cell((x, y, z))
    return 2.0 * _cell(x, y, z) - 1.0


def cellNoiseV(p):
    """Three values in [-1, 1) constant over each unit cell, as a list."""
    x, y, z = _point(p)
    if _blender is not None:
        return list(_blender.cell_vector((x, y, z)))
    return [2.0 * _cell(x + ox, y + oy, z + oz) - 1.0 for ox, oy, oz in _OFFSETS]
