"""`python -m tessera.farm SCENE --frames FIRST-LAST -o OUT [--scheduler ADDRESS]`:
a frame range rendered on a Dask cluster (a LocalCluster on this machine
unless --scheduler names one), each frame written as `tessera render
--frames` writes it. Exit codes as the command's: 0 done, 2 bad arguments or
a bad scene, 3 a frame failed (named, with its node's message).
"""

import argparse
import sys

import tessera


def _frames(text):
    if not text:
        raise argparse.ArgumentTypeError("expected FIRST-LAST, as 1-240")
    first, sep, last = text[1:].partition("-")
    first = text[0] + first
    try:
        first, last = int(first), int(last if sep else first)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected FIRST-LAST, as 1-240, not {text!r}") from None
    if last < first:
        raise argparse.ArgumentTypeError(f"LAST ({last}) is before FIRST ({first})")
    return range(first, last + 1)


def _progress_bar(total, quiet):
    """A tqdm bar over the tasks when tqdm is installed, else a line per frame."""
    if quiet:
        return lambda done, total: None, lambda: None
    try:
        from tqdm import tqdm
    except ImportError:
        return (lambda done, total: print(f"{done}/{total} frames", file=sys.stderr)), (lambda: None)
    bar = tqdm(total=total, unit="frame")
    return (lambda done, total: bar.update(done - bar.n)), bar.close


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tessera.farm", description=__doc__.split("\n\n")[0])
    parser.add_argument("scene", help="the scene file (TOML)")
    parser.add_argument("--frames", type=_frames, required=True, metavar="FIRST-LAST")
    parser.add_argument("-o", "--output", required=True, help="the images to write; {frame} or {frame:04} in it")
    parser.add_argument("--scheduler", help="a Dask scheduler's address (tcp://host:8786); default: a LocalCluster")
    parser.add_argument("--workers", type=int, help="the LocalCluster's worker processes (default: one per core)")
    parser.add_argument("--threads", type=int, default=1, help="render threads per task (default 1)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    args = parser.parse_args(argv)

    import tessera.dask as farm

    distributed = farm._distributed()
    try:
        scene = tessera.Scene.load(args.scene)
    except tessera.SceneError as error:
        print(f"error: {error}" if not str(error).startswith("error") else error, file=sys.stderr)
        return 2
    client = distributed.Client(args.scheduler) if args.scheduler else None
    update, close = _progress_bar(len(args.frames), args.quiet)
    try:
        with farm._Session(client, args.workers) as client:
            paths = farm.render_frames(scene, args.frames, args.output, client=client, threads=args.threads,
                                       progress=update)
    except farm.FarmError as error:
        close()
        print(f"error: {error}", file=sys.stderr)
        return 3
    except ValueError as error:
        close()
        print(f"error: {error}", file=sys.stderr)
        return 2
    close()
    if not args.quiet:
        print(f"{len(paths)} frames written: {paths[0]} .. {paths[-1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
