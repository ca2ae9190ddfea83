"""The timing the whole-image reference scripts share: `SCRIPT SIZE RUNS`
renders SIZE x SIZE pixels RUNS times and prints the best wall time."""
import sys
import time


def print_best_time(render, default_size):
    size = int(sys.argv[1]) if len(sys.argv) > 1 else default_size
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        render(size)
        best = min(best, time.perf_counter() - start)
    print(f"{best:.4f}")
