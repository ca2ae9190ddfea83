"""A worker process of `tessera.render` under `[python] workers = "processes"`
(or `workers="processes"`): started by the rendering process with the scene
file, and its Scene.set changes as JSON on standard input, it evaluates
Python nodes' tiles for it. Not to be run by hand."""

import json
import sys

import tessera


def main():
    # The scene's changes (and the text of a scene read from standard
    # input) on standard input: no limit on their size, as arguments have.
    job = json.load(sys.stdin)
    changes = [(key, value) for key, value in job["changes"]]
    if not tessera._native._serve_worker(sys.argv[1], changes, job["text"]):
        sys.exit(2)  # (the rendering process reports why)


if __name__ == "__main__":
    main()
