"""Blender.Noise against Blender's mathutils.noise (run by scripts/blender-noise-check).

1. Delegation: with Blender's module importable, every Blender.Noise function
   must give exactly mathutils.noise's value, for 10,000 random points per
   basis (and per distance metric for voronoi). Any difference: exit 1.
2. The clean-room noise (what Tessera uses without Blender): not the same
   values, by design; printed side by side with Blender's: the spread of each
   basis and the correlation between the two, to show they differ in values
   but not in range or character.
"""

import importlib.util
import math
import pathlib
import random
import statistics
import sys

import bpy  # noqa: F401  (provides mathutils.noise)
from mathutils import noise as blender

NOISE_PY = pathlib.Path(__file__).resolve().parent.parent / "crates/tessera-python/python/blender/Noise.py"
POINTS = 10_000


def load_noise():
    spec = importlib.util.spec_from_file_location("blender_noise_under_test", NOISE_PY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    tessera = load_noise()
    if tessera.backend != "mathutils.noise":
        print(f"error: Blender.Noise did not find Blender's noise (backend {tessera.backend})")
        return 1
    clean = load_noise()
    clean._blender = None  # the clean-room path, in the same process

    rng = random.Random(2008)
    points = [tuple(rng.uniform(-100.0, 100.0) for _ in range(3)) for _ in range(POINTS)]
    bases = tessera._BASIS_NAMES
    failures = []

    def compare(what, ours, theirs):
        differing = sum(1 for p in points if ours(p) != theirs(p))
        status = "equal" if differing == 0 else f"{differing} differ"
        print(f"  {what}: {status} ({POINTS} points)")
        if differing:
            failures.append(what)

    print("Delegation: Blender.Noise with mathutils.noise importable")
    for number, name in bases.items():
        compare(f"noise type {number} ({name})", lambda p: tessera.noise(p, number),
                lambda p: blender.noise(p, noise_basis=name))
        compare(f"vNoise type {number}", lambda p: tessera.vNoise(p, number),
                lambda p: list(blender.noise_vector(p, noise_basis=name)))
        compare(f"turbulence type {number}", lambda p: tessera.turbulence(p, 4, 1, number, 0.5, 2.0),
                lambda p: blender.turbulence(p, 4, True, noise_basis=name))
    compare("cellNoise", tessera.cellNoise, blender.cell)
    compare("cellNoiseV", tessera.cellNoiseV, lambda p: list(blender.cell_vector(p)))
    for number, name in tessera._METRIC_NAMES.items():
        def theirs(p, name=name):
            distances, features = blender.voronoi(p, distance_metric=name, exponent=2.5)
            return [list(distances), [list(f) for f in features]]

        compare(f"voronoi metric {number} ({name})", lambda p, n=number: tessera.voronoi(p, n, 2.5), theirs)
    compare("fBm", lambda p: tessera.fBm(p, 1.0, 2.0, 4), lambda p: blender.fractal(p, 1.0, 2.0, 4))
    compare("ridgedMFractal", lambda p: tessera.ridgedMFractal(p, 1.0, 2.0, 4, 1.0, 1.0),
            lambda p: blender.ridged_multi_fractal(p, 1.0, 2.0, 4, 1.0, 1.0))

    print()
    print("Clean-room noise (Tessera without Blender) beside Blender's, noise(p, type) over the same points")
    print("| type | Blender mean | Blender std | clean-room mean | clean-room std | correlation |")
    print("| --- | --- | --- | --- | --- | --- |")
    for number, name in bases.items():
        theirs = [blender.noise(p, noise_basis=name) for p in points]
        ours = [clean.noise(p, number) for p in points]
        correlation = statistics.correlation(theirs, ours) if hasattr(statistics, "correlation") else math.nan
        print(f"| {number} {name} | {statistics.fmean(theirs):.3f} | {statistics.pstdev(theirs):.3f} | "
              f"{statistics.fmean(ours):.3f} | {statistics.pstdev(ours):.3f} | {correlation:.3f} |")
    if failures:
        print(f"\nerror: {len(failures)} comparisons differ: {', '.join(failures)}")
        return 1
    print("\nok: every Blender.Noise call equals mathutils.noise")
    return 0


if __name__ == "__main__":
    sys.exit(main())
