"""Type stubs for Tessera's Python node API (the `tessera` module).

The module exists only inside the renderer: `tessera render`, `tessera check`
and `tessera nodes --script` provide it to your scripts. These stubs let an
editor or a type checker see it. Put this file's folder on your editor's
analysis path, or copy it next to your scripts (docs/python-nodes.md says how).

Subclass `Node`, declare its sockets in `inputs` and `outputs`, and define
`__call__(self, ctx, *inputs)`.
"""

from typing import Any, ClassVar, Final, Literal, final

__all__ = ["Node", "Float", "Int", "Bool", "Vector2", "Vector3", "Color", "TEXCOORD", "Context"]

TEXCOORD: Final = "texcoord"
"""A `Vector2` default meaning "the sample's texture coordinate (u, v)"
when the scene does not link the input: `tessera.Vector2(tessera.TEXCOORD)`."""

class Socket:
    """An input or output declaration. Use the subclasses: `Float`, `Int`,
    `Bool`, `Vector2`, `Vector3`, `Color`.

    `min` and `max` give a range that the scene's constants must respect
    (checked by `tessera check`; linked values and return values are not
    checked). `doc` documents the socket in `tessera nodes --script`.
    Raises ValueError when `min` is greater than `max`, TypeError on a
    default of the wrong type.
    """

    #: The scene type of the socket: "float", "integer", "boolean",
    #: "vector2", "vector3" or "color4" (None on this base class).
    type_name: ClassVar[str | None]
    #: The number of channels: 1, 2, 3 or 4.
    size: ClassVar[int]
    #: The default used when none is given.
    default_value: ClassVar[object]
    #: The default, checked and converted (a float, an int, a bool or a
    #: tuple of floats).
    default: object
    #: The documentation given as `doc=`.
    doc: str
    #: The lower end of the range, or None.
    min: float | None
    #: The upper end of the range, or None.
    max: float | None
    #: `TEXCOORD` when the default is the sample's texture coordinate, else None.
    geometry: Literal["texcoord"] | None
    def __init__(
        self,
        default: object = None,
        min: float | None = None,
        max: float | None = None,
        doc: str = "",
    ) -> None: ...

class Float(Socket):
    """A float, per sample (linkable). `__call__` receives a `float`.

    Default 0.0.
    """

    default: float
    def __init__(
        self,
        default: float | None = None,
        min: float | None = None,
        max: float | None = None,
        doc: str = "",
    ) -> None: ...

class Int(Socket):
    """An integer: a constant for the whole render (it cannot be linked).
    `__call__` receives an `int`. Inputs only: outputs cannot be Int.

    Default 0.
    """

    default: int
    def __init__(
        self,
        default: int | None = None,
        min: float | None = None,
        max: float | None = None,
        doc: str = "",
    ) -> None: ...

class Bool(Socket):
    """A boolean: a constant for the whole render (it cannot be linked).
    `__call__` receives a `bool`. Inputs only: outputs cannot be Bool.

    Default False.
    """

    default: bool
    def __init__(
        self,
        default: bool | None = None,
        min: float | None = None,
        max: float | None = None,
        doc: str = "",
    ) -> None: ...

class Vector2(Socket):
    """Two floats, per sample (linkable). `__call__` receives a
    `tuple[float, float]`.

    Default (0.0, 0.0). `Vector2(tessera.TEXCOORD)` defaults to the sample's
    texture coordinate (u, v) when the scene does not link the input.
    """

    default: tuple[float, float]
    def __init__(
        self,
        default: tuple[float, float] | Literal["texcoord"] | None = None,
        min: float | None = None,
        max: float | None = None,
        doc: str = "",
    ) -> None: ...

class Vector3(Socket):
    """Three floats, per sample (linkable). `__call__` receives a
    `tuple[float, float, float]`.

    Default (0.0, 0.0, 0.0).
    """

    default: tuple[float, float, float]
    def __init__(
        self,
        default: tuple[float, float, float] | None = None,
        min: float | None = None,
        max: float | None = None,
        doc: str = "",
    ) -> None: ...

class Color(Socket):
    """An RGBA colour, per sample (linkable). `__call__` receives a
    `tuple[float, float, float, float]`.

    Default (0.0, 0.0, 0.0, 1.0). An RGB default gets alpha 1; so does an RGB
    value returned for a Color output.
    """

    default: tuple[float, float, float, float]
    def __init__(
        self,
        default: tuple[float, float, float] | tuple[float, float, float, float] | None = None,
        min: float | None = None,
        max: float | None = None,
        doc: str = "",
    ) -> None: ...

class Node:
    """Base class of Python nodes.

    Declare `inputs` and `outputs` as dicts of sockets (socket names must be
    Python identifiers; `script`, `class` and `policy` are reserved input
    names; there must be at least one output, and outputs are Float, Vector2,
    Vector3 or Color), and define `__call__`:

        def __call__(self, ctx: tessera.Context, *inputs) -> ...

    `__call__` receives `ctx`, then one argument per input, in declaration
    order:

    - Float: `float`
    - Vector2: `tuple[float, float]`
    - Vector3: `tuple[float, float, float]`
    - Color: `tuple[float, float, float, float]` (RGBA)
    - Int: `int`
    - Bool: `bool`

    It returns the outputs as a dict by output name, as a tuple (or list) in
    declaration order, or, when there is exactly one output, as a bare value
    (a number for Float, a tuple of numbers for the others; an RGB tuple for
    a Color output gets alpha 1). Every value must be finite.

    `__call__` is called once per sample, from several render threads (one
    at a time: it holds the GIL). `ctx` is refilled before every call: do not
    keep it after the call returns.
    """

    #: The input sockets, by name, in the order `__call__` receives them.
    inputs: ClassVar[dict[str, Socket]]
    #: The output sockets, by name, in the order a returned tuple lists them.
    outputs: ClassVar[dict[str, Socket]]
    #: Declare True when every call depends only on its arguments and `ctx`:
    #: no state on `self`, no module globals, no unseeded `random`.
    pure: ClassVar[bool]
    def setup(self) -> None:
        """Runs once per node instance, when the scene is compiled, before
        any call. The default does nothing."""

@final
class Context:
    """The `ctx` argument of `__call__`: the sample being computed.

    Read-only, created and refilled by Tessera before every call: do not
    keep it after the call, and do not construct one.
    """

    @property
    def x(self) -> int:
        """The pixel's column, from 0 at the left. Outside 0..width-1 when a
        node downstream (a blur) reads beyond the image's edge."""
    @property
    def y(self) -> int:
        """The pixel's row, from 0 at the top."""
    @property
    def u(self) -> float:
        """The sample's texture coordinate, 0 at the left edge to 1 at the right."""
    @property
    def v(self) -> float:
        """The sample's texture coordinate, 0 at the bottom edge to 1 at the top."""
    @property
    def sample(self) -> int:
        """The sample's index within its pixel, from 0 to samples - 1."""
    @property
    def frame(self) -> int:
        """The frame number (`tessera render --frame`, default 0)."""
    @property
    def time(self) -> float:
        """Seconds: frame / fps."""
    @property
    def fps(self) -> float:
        """Frames per second: the scene's `[image] fps`."""
    @property
    def width(self) -> int:
        """The image width in pixels."""
    @property
    def height(self) -> int:
        """The image height in pixels."""
    @property
    def tile(self) -> int:
        """The index of the tile being rendered (depends on --tile); 0 for a
        node keeping state under `ordered`, which is called over the whole
        image at once."""
    @property
    def seed(self) -> int:
        """The scene's seed (`[image] seed`)."""
    @property
    def node(self) -> str:
        """The scene's id of this node (the ID of `[nodes.ID]`)."""
    @property
    def thread(self) -> str:
        """The name of the render thread making this call, such as
        "tessera-render-0": for diagnostics only; never let it change a result."""
    def random(self) -> float:
        """A float in [0, 1) that depends on the scene seed, this node's id,
        the pixel, the sample and how many times `random()` was called before
        in this call: the same on every run, at any thread count and tile size."""


@final
class TileContext:
    """`ctx` of `evaluate_tile(self, ctx, **inputs)`: arrays of the tile's n samples."""

    @property
    def x(self) -> Any: ...
    @property
    def y(self) -> Any: ...
    @property
    def u(self) -> Any: ...
    @property
    def v(self) -> Any: ...
    @property
    def sample(self) -> Any: ...
    frame: int
    time: float
    fps: float
    width: int
    height: int
    tile: int
    seed: int
    node: str
    def random(self, shape: int | tuple[int] | tuple[int, int] | None = ...) -> Any:
        """Deterministic floats in [0, 1) of shape (n,) or (n, k)."""
        ...

class ProcessExit(BaseException):
    """Raised by `os._exit` called in Tessera's own process: a node must
    return or raise, never end the renderer."""

class StaticCheckError(TypeError):
    """A node class that `tessera check --no-python` cannot read from its
    source; `filename` and `lineno` say where."""
    filename: str
    lineno: int
