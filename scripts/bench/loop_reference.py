"""The reference for the per-sample benchmark: what a Python user would
write instead of Tessera, a plain loop calling the same node function for
every pixel of a 512 x 512 image and keeping the results.

Prints the best of N wall times in seconds.
"""
import sys
import time
import types



def main():
    from tessera_stub import load_script  # a minimal `tessera` for the script

    node = load_script("ripples").Ripples()
    width = height = int(sys.argv[1]) if len(sys.argv) > 1 else 512
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    center, color, wavelength = (0.5, 0.5), (0.3, 0.7, 1.0, 1.0), 0.07
    ctx = types.SimpleNamespace(x=0, y=0)
    best = float("inf")
    for _ in range(runs):
        pixels = [None] * (width * height)
        start = time.perf_counter()
        for y in range(height):
            v = 1.0 - (y + 0.5) / height
            for x in range(width):
                ctx.x, ctx.y = x, y
                out = node(ctx, ((x + 0.5) / width, v), center, color, wavelength)
                pixels[y * width + x] = out["color"]
        best = min(best, time.perf_counter() - start)
    print(f"{best:.4f}")


if __name__ == "__main__":
    main()
