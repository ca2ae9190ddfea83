"""A worker process of `tessera.render` under `[python] workers = "processes"`
(or `workers="processes"`): started by the rendering process with the scene
file and its Scene.set changes (JSON), it evaluates Python nodes' tiles for
it. Not to be run by hand."""

import json
import sys

import tessera


def main():
    path, changes = sys.argv[1], json.loads(sys.argv[2])
    if not tessera._native._serve_worker(path, [(key, value) for key, value in changes]):
        sys.exit(2)  # (the rendering process reports why)


if __name__ == "__main__":
    main()
