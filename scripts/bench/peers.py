"""The libraries a user would pick instead of Tessera for procedural noise
(issue #17), each making the image of scripts/bench/fractal_2048.toml or
worley_2048.toml, one thread, the result in memory:

- FastNoise Lite (pyfastnoiselite): Perlin FBm of 4 octaves, and cellular
  distance, over the same 8 x 8 cells, from an array of the pixel centres
  (made before the clock starts);
- libvips (pyvips): four perlin images of halving cell size summed with
  halving weights, and worley, each evaluated into memory.

The algorithms are the libraries' own, not MaterialX's: the images are alike,
not equal. Prints the best wall time of RUNS: peers.py WORK LIBRARY SIZE RUNS
(WORK fractal or worley, LIBRARY fastnoise or vips). With a fifth argument
OUT, makes the image once and writes it there as float32 (FastNoise Lite's
array with numpy's `save`, a .npy; libvips' image in its own uncompressed
format, a .v), for the whole-process figures. scripts/bench/run's
noise_peers figures run it in .venv-bench (made there when missing).
"""
import os
import sys
import time

# One thread each, as Tessera is measured: FastNoise Lite's generator runs
# under OpenMP, libvips on its own thread pool.
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["VIPS_CONCURRENCY"] = "1"

import numpy as np  # noqa: E402

CELLS = 8


def fastnoise(work, size):
    from pyfastnoiselite.pyfastnoiselite import CellularReturnType, FastNoiseLite, FractalType, NoiseType

    noise = FastNoiseLite()
    noise.frequency = 1.0
    if work == "fractal":
        noise.noise_type = NoiseType.NoiseType_Perlin
        noise.fractal_type = FractalType.FractalType_FBm
        noise.fractal_octaves = 4
    else:
        noise.noise_type = NoiseType.NoiseType_Cellular
        noise.cellular_return_type = CellularReturnType.CellularReturnType_Distance
    centres = (np.arange(size, dtype=np.float32) + 0.5) / size * CELLS
    coords = np.stack(np.meshgrid(centres, centres)).reshape(2, -1)

    def render(out=None):
        values = noise.gen_from_coords(coords)
        if out:
            np.save(out, values.astype(np.float32).reshape(size, size))
        return values
    return render


def vips(work, size):
    import pyvips

    cell = size // CELLS

    def image():
        if work == "fractal":
            total = pyvips.Image.perlin(size, size, cell_size=cell)
            for octave in range(1, 4):
                total += pyvips.Image.perlin(size, size, cell_size=cell >> octave) * (0.5 ** octave)
            return total
        return pyvips.Image.worley(size, size, cell_size=cell)

    def render(out=None):
        if out:
            return image().cast("float").write_to_file(out)
        return image().write_to_memory()
    return render


def main():
    work, library, size, runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    render = {"fastnoise": fastnoise, "vips": vips}[library](work, size)
    if len(sys.argv) > 5:
        render(sys.argv[5])
        return
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        render()
        best = min(best, time.perf_counter() - start)
    print(f"{best:.4f}")


if __name__ == "__main__":
    main()
