"""`python -m tessera.farm SCENE --frames FIRST-LAST -o OUT [--scheduler ADDRESS]`:
a frame range rendered on a Dask cluster (a LocalCluster on this machine
unless --scheduler names one), each frame written as `tessera render
--frames` writes it. Exit codes as the command's: 0 done, 1 an image that
cannot be written (or a scheduler that cannot be reached), 2 bad arguments
or a bad scene, 3 a frame failed (named, with its node's message).
"""

import argparse
import logging
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


def _at_least(minimum):
    """An argparse type: a whole number, `minimum` or more."""

    def number(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {minimum} or more, not {value}")
        return value

    return number


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        """A bad argument: one line, as the tessera command prints it, and exit 2."""
        self.exit(2, f"error: {message}\n")


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
    parser = _Parser(prog="python -m tessera.farm", description=__doc__.split("\n\n")[0])
    parser.add_argument("scene", help="the scene file (TOML)")
    parser.add_argument("--frames", type=_frames, required=True, metavar="FIRST-LAST")
    parser.add_argument("-o", "--output", required=True, help="the images to write; {frame} or {frame:04} in it")
    parser.add_argument("--scheduler", help="a Dask scheduler's address (tcp://host:8786); default: a LocalCluster")
    parser.add_argument("--workers", type=_at_least(1), help="the LocalCluster's worker processes (default: one per core)")
    parser.add_argument("--threads", type=_at_least(0), default=1, help="render threads per task (default 1)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="show Dask's own log too (workers lost and restarted, tasks retried)")
    args = parser.parse_args(argv)

    import tessera.dask as farm

    distributed = farm._distributed()
    # Dask's warnings (a worker a node killed, restarted; a task retried)
    # tell what the farm's own error line says, at length.
    log_level = logging.WARNING if args.verbose else logging.CRITICAL
    # (asyncio's: the tasks of a cluster closed past its bound.)
    for logger in ("distributed", "asyncio"):
        logging.getLogger(logger).setLevel(log_level)
    # The output is checked before anything renders.
    try:
        paths = farm._output_paths(args.frames, args.output)
    except ValueError as error:
        return _failed(error, 2)
    except tessera.OutputError as error:
        return _failed(error, 1)
    try:
        scene = tessera.Scene.load(args.scene)
        farm._refuse_overwriting(scene, paths.values())
    except (tessera.SceneError, ValueError) as error:
        return _failed(error, 2)
    try:
        client = distributed.Client(args.scheduler) if args.scheduler else None
    except (ValueError, TypeError) as error:  # an address that is not one
        return _failed(f"--scheduler {args.scheduler}: {error}", 2)
    except OSError as error:
        return _failed(f"cannot reach the Dask scheduler at {args.scheduler}: {error}", 1)
    update, close = _progress_bar(len(args.frames), args.quiet)
    try:
        with farm._Session(client, args.workers, log_level) as client:
            written = farm.render_frames(scene, args.frames, args.output, client=client, threads=args.threads,
                                         progress=update)
    except KeyboardInterrupt:
        close()
        return _failed("interrupted (Ctrl-C); the frames written before it are whole", 130)
    except farm.FarmError as error:
        close()
        return _failed(error, 3)
    except (tessera.OutputError, OSError) as error:  # a frame that could not be written
        close()
        return _failed(error, 1)
    close()
    if not args.quiet:
        frames = "frame" if len(written) == 1 else "frames"
        print(f"{len(written)} {frames} written: {written[0]} .. {written[-1]}")
    return 0


def _failed(error, code):
    """Prints `error` as the tessera command prints one, and returns `code`."""
    message = str(error)
    print(message if message.startswith("error") else f"error: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
