"""Tessera as a Python package: render scenes into numpy arrays.

    import tessera
    scene = tessera.Scene.load("scenes/showcase.toml")
    scene.set("nodes.grain.amplitude", 0.3)
    img = tessera.render(scene, threads=8, frame=12)   # float32 (height, width, 4), linear
    tessera.write(img, "out.exr")

This is the module that scripts import inside the `tessera` binary too:
`tessera.Node`, the socket types and `ctx` come from the same source (see
docs/python-nodes.md); docs/python-api.md is the guide to the rest.
"""

import os as _os
import sys as _sys

from tessera import _native

# tessera.Node, Float, ..., Context: the binary's own module source, run here.
_native._install(_sys.modules[__name__])

from tessera._native import NodeError, OutputError, Scene, SceneError, TesseraError, pixel_hash, write  # noqa: E402

# __all__ comes from the API source, which lists `Context` twice and its
# private `_TileDraws`: each public name once here.
__all__ = [name for name in dict.fromkeys(__all__) if not name.startswith("_")] + [  # noqa: F821
    "Scene", "render", "write", "pixel_hash", "Image", "TesseraError", "SceneError", "NodeError", "OutputError",
]


def _default_progress():
    """A tqdm bar in a notebook when tqdm is installed, else nothing."""
    if "ipykernel" not in _sys.modules:
        return None, None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None, None
    bar = tqdm(total=0, unit="tile", leave=False)

    def update(done, total):
        bar.total = total
        bar.n = done
        bar.refresh()

    return update, bar


def render(scene, threads=0, frame=0, tile=32, region=None, progress=None, workers=None):
    """Renders `scene` (a Scene, or a scene file's path) and returns its
    pixels: an Image, a float32 numpy array (height, width, 4) of linear
    RGBA, bit-identical to `tessera render` of the same scene.

    threads: render threads (0: every core); frame: the frame number
    (`--frame`); tile: the tile edge; region: (x, y, width, height) to render
    only those pixels; progress: called as progress(done, total) as tiles
    finish (default: a tqdm bar in a notebook when tqdm is installed; False:
    none); workers: where Python nodes run, "threads" of this process or
    "processes" (one worker process per render thread, each with its own
    interpreter), default the scene's `[python] workers`. The GIL is
    released while native work runs. Raises SceneError, NodeError (with
    `node`, `pixel`, `traceback`) or KeyboardInterrupt."""
    if isinstance(scene, (str, _os.PathLike)):
        scene = Scene.load(scene)
    if region is not None:
        region = tuple(region)  # a list, a numpy array
    bar = None
    if progress is None:
        progress, bar = _default_progress()
    elif progress is False:
        progress = None
    try:
        pixels = _native._render(scene, threads, frame, tile, region, progress, workers)
    finally:
        if bar is not None:
            bar.close()
    return pixels.view(Image)


def _image_base():
    import numpy

    return numpy.ndarray


class Image(_image_base()):
    """A rendered image: a numpy float32 array (height, width, 4) of linear
    RGBA that shows itself in Jupyter (as sRGB PNG)."""

    def _repr_png_(self):
        import tempfile

        # What is no image any more (a slice, another dtype, no pixels)
        # shows as an array: IPython's formatter takes None for "not me".
        if self.ndim != 3 or self.shape[2] != 4 or self.dtype != "float32" or 0 in self.shape:
            return None
        with tempfile.TemporaryDirectory() as folder:
            path = _os.path.join(folder, "image.png")
            write(self, path)
            with open(path, "rb") as f:
                return f.read()
