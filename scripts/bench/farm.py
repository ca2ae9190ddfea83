"""The cost of Dask as a render farm's engine, on this machine: 24 frames
through `python -m tessera.farm` on a LocalCluster of 2 worker processes
against `tessera render --frames` (2 render threads) in one process, for a
native scene and a Python-heavy one. Whole commands, start-up included;
rounds interleaved; the median of each. Run with the package's venv:

    .venv-package/bin/python scripts/bench/farm.py [--rounds 3]

Prints a markdown table for docs/performance.md.
"""

import argparse
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
TESSERA = ROOT / "target/release/tessera"
SCENES = [("native: scenes/showcase.toml (640x360, 4 samples)", "scenes/showcase.toml"),
          ("Python-heavy: scripts/bench/ripples_1024.toml at 512x512", "scripts/bench/ripples_1024.toml")]


def timed(command):
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args().rounds
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for label, scene in SCENES:
            path = ROOT / scene
            if "ripples" in scene:
                # 512 x 512: Python work enough to outweigh the cluster's start-up.
                text = path.read_text().replace("width = 1024", "width = 512").replace("height = 1024", "height = 512")
                text = text.replace('script = "../ripples.py"', f'script = "{ROOT / "scripts/ripples.py"}"')
                path = pathlib.Path(folder) / "ripples_512.toml"
                path.write_text(text)
            cli = [str(TESSERA), "render", str(path), "--frames", "1-24", "-o", f"{folder}/cli_{{frame}}.png", "-j", "2",
                   "-q"]
            farm = [sys.executable, "-m", "tessera.farm", str(path), "--frames", "1-24", "-o",
                    f"{folder}/farm_{{frame}}.png", "--workers", "2", "-q"]
            times = {"cli": [], "farm": []}
            for _ in range(rounds):
                times["cli"].append(timed(cli))
                times["farm"].append(timed(farm))
            cli_s, farm_s = statistics.median(times["cli"]), statistics.median(times["farm"])
            rows.append(f"| {label} | {cli_s:.2f} | {farm_s:.2f} | {farm_s / cli_s:.2f} |")
    print("| 24 frames | `tessera render --frames`, 2 threads (s) | `python -m tessera.farm`, 2 workers (s) | farm / command |")
    print("| --- | --- | --- | --- |")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
