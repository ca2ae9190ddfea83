"""Tessera as a Python package (docs/python-api.md). The node API, the
`tessera` module scripts meet inside the binary too, is scripts/tessera.pyi
(shipped here as _node_api.pyi); below, what only the package has."""

import os
from typing import Any, Callable, Iterable, Sequence

import numpy

from tessera._node_api import *

_Path = str | os.PathLike[str]

class TesseraError(Exception):
    """Any error of Tessera's."""

class SceneError(TesseraError):
    """A bad scene, or a bad value given to Scene.set."""
    path: _Path | None
    line: int | None
    column: int | None
    errors: list[str]

class NodeError(TesseraError):
    """A node failed while rendering."""
    node: str
    node_type: str
    pixel: tuple[int, int] | None
    message: str
    traceback: str | None
    script: str | None
    line: int | None

class OutputError(TesseraError):
    """An image could not be written, or the array is not an image."""

class Scene:
    """A scene, loaded and checked."""
    @staticmethod
    def load(path: _Path, changes: Sequence[tuple[str, Any]] = ...) -> Scene: ...
    def set(self, key: str, value: Any) -> None: ...
    @property
    def path(self) -> _Path: ...
    @property
    def size(self) -> tuple[int, int]: ...
    @property
    def colorspace(self) -> str | None: ...
    def files(self) -> list[_Path]: ...
    @property
    def changes(self) -> list[tuple[str, Any]]: ...

class Image(numpy.ndarray):
    """A rendered image: float32 (height, width, 4), linear RGBA."""

def render(
    scene: Scene | _Path,
    threads: int = ...,
    frame: int = ...,
    tile: int = ...,
    region: tuple[int, int, int, int] | None = ...,
    progress: Callable[[int, int], object] | bool | None = ...,
    workers: str | None = ...,
) -> Image: ...
def write(image: numpy.ndarray, path: _Path | bytes | os.PathLike[bytes], depth: int | str | None = ..., colorspace: str | None = ...) -> None: ...
def pixel_hash(image: numpy.ndarray) -> str: ...
