"""Blender.Node of Blender 2.4x, for PyNode scripts (docs/blender-pynodes.md).

A script subclasses `Node.Scripted`, declares its sockets in
`__init__(self, sockets)` and computes one sample in `__call__(self)`,
reading `self.input`, writing `self.output` and looking at `self.shi`.
"""

from Blender import Mathutils as _Mathutils

__all__ = ["Scripted", "Socket", "VALUE", "VECTOR", "RGBA"]

VALUE = 0
VECTOR = 1
RGBA = 2

_TYPE_NAMES = {VALUE: "VALUE", VECTOR: "VECTOR", RGBA: "RGBA"}
_SIZES = {VALUE: 1, VECTOR: 3, RGBA: 4}


class Socket:
    """Socket(name, val=None, min=0.0, max=1.0): a VALUE when `val` is None or a
    number, a VECTOR for 3 numbers, an RGBA colour for 4."""

    def __init__(self, name, val=None, min=0.0, max=1.0):
        if not isinstance(name, str):
            raise TypeError("Node.Socket: the name must be a string")
        self.name = name
        self.min = float(min)
        self.max = float(max)
        if val is None:
            self.type, self.val = VALUE, 0.0
        elif isinstance(val, (int, float)) and not isinstance(val, bool):
            self.type, self.val = VALUE, float(val)
        else:
            try:
                values = tuple(float(v) for v in val)
            except (TypeError, ValueError):
                raise TypeError(f"Node.Socket {name!r}: val must be a number or a sequence of 3 or 4 numbers") from None
            if len(values) == 3:
                self.type = VECTOR
            elif len(values) == 4:
                self.type = RGBA
            else:
                raise TypeError(f"Node.Socket {name!r}: val must be a number or a sequence of 3 or 4 numbers")
            self.val = values

    def __repr__(self):
        return f"[Node.Socket {self.name!r} {_TYPE_NAMES[self.type]} val={self.val!r}]"


class _SocketLists:
    """The argument of a script's `__init__`: `input` (or `i`) takes a sequence
    of sockets, `output` (or `o`) a list."""

    def __init__(self):
        object.__setattr__(self, "input", [])
        object.__setattr__(self, "output", [])

    def __setattr__(self, name, value):
        kind = {"input": "input", "i": "input", "output": "output", "o": "output"}.get(name)
        if kind is None:
            raise AttributeError(f"the sockets object has only input (i) and output (o), not {name!r}")
        if kind == "output" and not isinstance(value, list):
            raise AttributeError("sockets.output must be a list of Node.Socket")
        try:
            items = list(value)
        except TypeError:
            raise AttributeError(f"sockets.{kind} must be a sequence of Node.Socket") from None
        for item in items:
            if not isinstance(item, Socket):
                raise AttributeError(f"sockets.{kind}: {item!r} is not a Node.Socket")
        object.__setattr__(self, kind, items)

    def __getattr__(self, name):
        aliases = {"i": "input", "o": "output"}
        if name in aliases:
            return object.__getattribute__(self, aliases[name])
        raise AttributeError(name)


def _index(sockets):
    """Socket names, lower-cased, to their positions (names are case-insensitive)."""
    return {socket.name.lower(): i for i, socket in reversed(list(enumerate(sockets)))}


class _Inputs:
    """`self.input`: the sample's input values, by attribute, name or index."""

    __slots__ = ("_index", "_values")

    def __init__(self, index):
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "_values", ())

    def _get(self, key):
        if isinstance(key, int):
            return self._values[key]
        try:
            return self._values[self._index[key.lower()]]
        except (KeyError, AttributeError):
            raise AttributeError(f"no input socket named {key!r}") from None

    def __getattr__(self, name):
        return self._get(name)

    def __getitem__(self, key):
        return self._get(key)

    def __len__(self):
        return len(self._values)

    def __setattr__(self, name, value):
        raise AttributeError("input sockets are read-only")


class _Outputs:
    """`self.output`: write-only; a value not written keeps the last one."""

    __slots__ = ("_index", "_types", "_names", "values")

    def __init__(self, sockets):
        object.__setattr__(self, "_index", _index(sockets))
        object.__setattr__(self, "_types", [s.type for s in sockets])
        object.__setattr__(self, "_names", [s.name for s in sockets])
        object.__setattr__(self, "values", [s.val for s in sockets])

    def _set(self, key, value):
        if isinstance(key, int):
            index = key
            if not 0 <= index < len(self._types):
                raise IndexError(f"output socket index {key} is out of range")
        else:
            try:
                index = self._index[key.lower()]
            except (KeyError, AttributeError):
                raise AttributeError(f"no output socket named {key!r}") from None
        kind = self._types[index]
        name = self._names[index]
        if kind == VALUE:
            try:
                self.values[index] = float(value)
            except (TypeError, ValueError):
                raise AttributeError(f"output socket {name!r} (VALUE) expects a number") from None
            return
        size = _SIZES[kind]
        try:
            numbers = tuple(float(v) for v in value)
        except (TypeError, ValueError):
            numbers = ()
        if len(numbers) != size:
            raise AttributeError(f"output socket {name!r} ({_TYPE_NAMES[kind]}) expects a sequence of {size} numbers")
        self.values[index] = numbers

    def __setattr__(self, name, value):
        self._set(name, value)

    def __setitem__(self, key, value):
        self._set(key, value)

    def __getattr__(self, name):
        raise AttributeError("output sockets are write-only")


# Blender 2.49's default material and world.
_MATERIAL_COLOR = (0.8, 0.8, 0.8)
_SPECULAR_COLOR = (1.0, 1.0, 1.0)
_MIRROR_COLOR = (1.0, 1.0, 1.0)
_AMBIENT_COLOR = (0.0, 0.0, 0.0)
_AMBIENT = 0.5


class ShadeInput:
    """`self.shi` on Tessera's flat canvas: the image is a plane facing an
    orthographic camera, so every sample sees the same normal and view
    direction; positions come from the sample's (u, v). Each read of
    `self.shi` is a new object, as in Blender."""

    __slots__ = ("_u", "_v", "_x", "_y", "_du", "_dv")

    def __init__(self, ctx):
        self._u, self._v, self._x, self._y = ctx.u, ctx.v, ctx.x, ctx.y
        self._du, self._dv = 1.0 / max(1, ctx.width), 1.0 / max(1, ctx.height)

    def _position(self):
        return _Mathutils.Vector(self._u, self._v, 0.0)

    def _footprint(self):
        return (_Mathutils.Vector(self._du, 0.0, 0.0), _Mathutils.Vector(0.0, self._dv, 0.0))

    @staticmethod
    def _zero_pair():
        return (_Mathutils.Vector(0.0, 0.0, 0.0), _Mathutils.Vector(0.0, 0.0, 0.0))

    texture = property(_position, doc="orco coordinates: (u, v, 0)")
    textureGlobal = property(_position, doc="world position: (u, v, 0)")
    surfaceNormal = property(lambda self: _Mathutils.Vector(0.0, 0.0, -1.0), doc="facing the camera")
    viewNormal = property(lambda self: _Mathutils.Vector(0.0, 0.0, -1.0), doc="facing the camera")
    surfaceViewVector = property(lambda self: _Mathutils.Vector(0.0, 0.0, -1.0), doc="the orthographic ray")
    pixel = property(lambda self: (self._x, self._y), doc="the pixel, (x, y) from the top left")
    color = property(lambda self: _Mathutils.Vector(_MATERIAL_COLOR))
    specularColor = property(lambda self: _Mathutils.Vector(_SPECULAR_COLOR))
    mirrorColor = property(lambda self: _Mathutils.Vector(_MIRROR_COLOR))
    ambientColor = property(lambda self: _Mathutils.Vector(_AMBIENT_COLOR))
    ambient = property(lambda self: _AMBIENT)
    emit = property(lambda self: 0.0)
    displace = property(lambda self: _Mathutils.Vector(0.0, 0.0, 0.0))
    tangent = property(lambda self: _Mathutils.Vector(1.0, 0.0, 0.0))
    strand = property(lambda self: 0.0)
    stress = property(lambda self: 0.0)
    surfaceD = property(_footprint, doc="one pixel's step in x and in y")
    textureD = property(_footprint)
    textureGlobalD = property(_footprint)
    reflectionD = property(lambda self: self._zero_pair())
    normalD = property(lambda self: self._zero_pair())
    stickyD = property(lambda self: self._zero_pair())
    refractD = property(lambda self: self._zero_pair())
    strandD = property(lambda self: _Mathutils.Vector(0.0, 0.0))


class _Sample:
    """What one thread's current call of a script's node sees."""

    def __init__(self, inputs, outputs):
        self.inputs = _Inputs(_index(inputs))
        self.outputs = _Outputs(outputs)
        self.ctx = None


class Scripted:
    """Base class of a PyNode script's node: define `__init__(self, sockets)`
    and `__call__(self)`."""

    def __init__(self, *args, **kwargs):
        pass

    # Each thread calling a node has its own view of the sample, so that two
    # samples computed at once never see each other's sockets.
    def _sample(self):
        state = self.__dict__.get("_tessera_samples")
        if state is None:
            raise AttributeError("input, output and shi exist only while the node computes a sample")
        return state

    @property
    def input(self):
        return self._sample().current.inputs

    @property
    def output(self):
        return self._sample().current.outputs

    @property
    def shi(self):
        return ShadeInput(self._sample().current.ctx)

    i = input
    o = output
    s = shi
