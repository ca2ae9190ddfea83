"""Tessera's Python node API: subclass `tessera.Node`, declare sockets.

See docs/python-nodes.md for the tutorial and the rules. The `Context`
class (the `ctx` argument) is provided by the renderer.
"""

import inspect as _inspect
import re as _re

__all__ = ["Node", "Float", "Int", "Bool", "Vector2", "Vector3", "Color", "TEXCOORD", "Context"]

#: A default meaning "the sample's texture coordinate" for a Vector2 input.
TEXCOORD = "texcoord"


class Socket:
    """An input or output declaration. Use the subclasses."""

    type_name = None
    size = 1
    default_value = 0.0

    def __init__(self, default=None, min=None, max=None, doc=""):
        self.doc = str(doc)
        self.min = None if min is None else float(min)
        self.max = None if max is None else float(max)
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"{type(self).__name__}: min {self.min} is greater than max {self.max}")
        self.geometry = None
        if default is None:
            default = self.default_value
        self.default = self._check_default(default)

    def _check_default(self, value):
        return _numbers(type(self).__name__, value, self.size)

    def __repr__(self):
        return f"tessera.{type(self).__name__}({self.default!r})"


def _numbers(kind, value, size):
    """`value` as a float (size 1) or a tuple of `size` floats, or TypeError."""
    if size == 1:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise TypeError(f"{kind} default must be a number, not {type(value).__name__}")
    try:
        items = tuple(float(v) for v in value)
    except TypeError:
        raise TypeError(f"{kind} default must be {size} numbers, not {type(value).__name__}") from None
    if len(items) != size:
        raise TypeError(f"{kind} default must be {size} numbers, not {len(items)}")
    return items


class Float(Socket):
    """A float, per sample."""

    type_name = "float"


class Int(Socket):
    """An integer: a constant for the whole render (cannot be linked)."""

    type_name = "integer"
    default_value = 0

    def _check_default(self, value):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"Int default must be an integer, not {type(value).__name__}")
        return value


class Bool(Socket):
    """A boolean: a constant for the whole render (cannot be linked)."""

    type_name = "boolean"
    default_value = False

    def _check_default(self, value):
        if not isinstance(value, bool):
            raise TypeError(f"Bool default must be True or False, not {type(value).__name__}")
        return value


class Vector2(Socket):
    """Two floats, per sample. `Vector2(tessera.TEXCOORD)` defaults to the sample's (u, v)."""

    type_name = "vector2"
    size = 2
    default_value = (0.0, 0.0)

    def _check_default(self, value):
        if isinstance(value, str) and value == TEXCOORD:
            self.geometry = TEXCOORD
            return (0.0, 0.0)
        return super()._check_default(value)


class Vector3(Socket):
    """Three floats, per sample."""

    type_name = "vector3"
    size = 3
    default_value = (0.0, 0.0, 0.0)


class Color(Socket):
    """An RGBA colour, per sample; an RGB default gets alpha 1."""

    type_name = "color4"
    size = 4
    default_value = (0.0, 0.0, 0.0, 1.0)

    def _check_default(self, value):
        if not isinstance(value, str):
            try:
                if len(value) == 3:
                    value = tuple(value) + (1.0,)
            except TypeError:
                pass
        return super()._check_default(value)


class Node:
    """Base class of Python nodes.

    Declare `inputs` and `outputs` as dicts of sockets, and define
    `__call__(self, ctx, *inputs)` returning the outputs: a dict by name,
    a tuple in declaration order, or a bare value when there is one output.
    `setup(self)` runs once per node instance before any call.
    """

    inputs = {}
    outputs = {}
    #: Declare True when every call depends only on its arguments.
    pure = False

    def setup(self):
        pass


def _describe(cls):
    """What the renderer needs to know of a node class, as plain data; numpy
    checked when the class has `evaluate_tile`."""
    described = _sockets(cls)
    if described["has_tile"]:
        _numpy()
    return described


def _sockets(cls):
    """`_describe` without numpy's check: what reading a class from its
    source (`_describe_static`) can give."""
    name = getattr(cls, "__name__", repr(cls))
    if not (isinstance(cls, type) and issubclass(cls, Node)):
        raise TypeError(f"{name} is not a subclass of tessera.Node")
    # A Blender PyNode script's class (docs/blender-pynodes.md): its socket
    # names are the script's, reached in a scene through quoted keys or an
    # `inputs` sub-table, and its lines are the script's class's.
    script_class = getattr(cls, "_blender_class", None)
    sockets = {}
    for kind in ("inputs", "outputs"):
        declared = getattr(cls, kind)
        if not isinstance(declared, dict):
            raise TypeError(f"{name}.{kind} must be a dict of sockets, not {type(declared).__name__}")
        for key, socket in declared.items():
            if not (isinstance(key, str) and (key.isidentifier() or script_class is not None)):
                raise TypeError(f"{name}.{kind}: {key!r} is not a valid socket name")
            if not isinstance(socket, Socket) or type(socket) is Socket:
                raise TypeError(
                    f"{name}.{kind}[{key!r}] must be a socket such as tessera.Float(), "
                    f"not {type(socket).__name__}"
                )
        sockets[kind] = declared
    if not sockets["outputs"]:
        raise TypeError(f"{name} declares no outputs")
    for key, socket in sockets["outputs"].items():
        if socket.type_name in ("integer", "boolean"):
            raise TypeError(f"{name}.outputs[{key!r}]: outputs must be Float, Vector2, Vector3 or Color")
    if script_class is None and (key_clash := set(sockets["inputs"]) & {"script", "class", "policy"}):
        raise TypeError(f"{name}.inputs: {sorted(key_clash)} are reserved names")
    call = cls.__call__ if "__call__" in dir(cls) and cls.__call__ is not object.__call__ else None
    tile = getattr(cls, "evaluate_tile", None)
    if call is None and tile is None:
        raise TypeError(f"{name} defines neither __call__(self, ctx, ...) nor evaluate_tile(self, ctx, **inputs)")

    def first_line(function):
        try:
            return function.__code__.co_firstlineno
        except AttributeError:
            return 0

    source = cls if script_class is None else script_class
    call_line = first_line(source.__call__) if call is not None else 0
    tile_line = first_line(tile) if tile is not None else 0
    class_line = _line_of(source)
    return {
        "doc": _inspect.cleandoc(cls.__doc__ or f"Python node {name}").split("\n\n")[0].replace("\n", " "),
        "inputs": [
            (k, s.type_name, s.default, s.min, s.max, s.doc, s.geometry) for k, s in sockets["inputs"].items()
        ],
        "outputs": [(k, s.type_name, s.doc) for k, s in sockets["outputs"].items()],
        "pure": bool(getattr(cls, "pure", False)),
        "call_line": call_line,
        "tile_line": tile_line,
        "has_call": call is not None,
        "has_tile": tile is not None,
        "class_line": class_line,
    }


class StaticCheckError(TypeError):
    """A node class that `tessera check --no-python` cannot read from its
    source; `filename` and `lineno` say where, as a SyntaxError's do."""

    def __init__(self, message, filename, lineno):
        super().__init__(message)
        self.filename = filename
        self.lineno = lineno


def _describe_static(path, class_name):
    """What `_describe` says of class `class_name` of the script at `path`,
    read from its source with `ast` (nothing in the script runs), and what
    that could not verify. For `tessera check --no-python`."""
    import ast

    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), filename=path)
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef)]
    found = next((c for c in classes if c.name == class_name), None)
    if found is None:
        names = ", ".join(c.name for c in classes) or "no class"
        raise LookupError(f"{path} has no class `{class_name}`: it defines {names}")

    def refuse(node, message):
        return StaticCheckError(f"{class_name}{message}", path, node.lineno)

    def is_api(node, names):
        """`tessera.X` or a bare `X`, for X in names."""
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            return node.value.id == "tessera" and node.attr in names
        return isinstance(node, ast.Name) and node.id in names

    if not any(is_api(base, ("Node",)) for base in found.bases):
        raise refuse(found, " does not derive from tessera.Node in its `class` line")
    fields, methods = {}, {}
    for statement in found.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target = statement.targets[0]
            if isinstance(target, ast.Name):
                fields[target.id] = statement.value
        elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) and statement.value:
            fields[statement.target.id] = statement.value
        elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            methods[statement.name] = statement
    socket_types = {c.__name__: c for c in (Float, Int, Bool, Vector2, Vector3, Color)}

    def literal(node):
        if is_api(node, ("TEXCOORD",)):
            return TEXCOORD
        return ast.literal_eval(node)

    def sockets(kind):
        value = fields.get(kind)
        if value is None:
            return {}
        if not isinstance(value, ast.Dict):
            raise refuse(value, f".{kind} must be a literal dict to be read without running Python")
        declared = {}
        for key, call in zip(value.keys, value.values):
            if not (isinstance(key, ast.Constant) and isinstance(call, ast.Call) and is_api(call.func, socket_types)):
                raise refuse(
                    call, f".{kind} must map names to tessera.Float(...) and the like to be read without running Python"
                )
            name = call.func.attr if isinstance(call.func, ast.Attribute) else call.func.id
            try:
                args = [literal(a) for a in call.args]
                kwargs = {k.arg: literal(k.value) for k in call.keywords}
            except ValueError:
                raise refuse(
                    call, f".{kind}[{key.value!r}] has arguments that are not literals, so it cannot be read without running Python"
                ) from None
            declared[key.value] = socket_types[name](*args, **kwargs)
        return declared

    namespace = {"inputs": sockets("inputs"), "outputs": sockets("outputs"), "__doc__": ast.get_docstring(found)}
    if "pure" in fields:
        namespace["pure"] = literal(fields["pure"])
    for method in ("__call__", "evaluate_tile"):
        if method in methods:
            namespace[method] = lambda self, *args, **kwargs: None
    described = _sockets(type(class_name, (Node,), namespace))
    described["class_line"] = found.lineno
    described["call_line"] = methods["__call__"].lineno if "__call__" in methods else 0
    described["tile_line"] = methods["evaluate_tile"].lineno if "evaluate_tile" in methods else 0

    unverified = ["its module code was not run"]
    modules = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    modules |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    if "evaluate_tile" in methods:
        modules.add("numpy")
    imported = sorted({module.split(".")[0] for module in modules} - {"tessera"})
    if imported:
        unverified.append(f"whether {', '.join(imported)} can be imported")
    if "setup" in methods:
        unverified.append("setup() was not run")
    return described, unverified


def _node_classes(module):
    """The tessera.Node subclasses defined in `module`, in source order."""
    found = [
        value
        for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, Node) and value is not Node
        and value.__module__ == module.__name__
    ]
    return sorted(found, key=lambda c: c.__dict__.get("__firstlineno__", 0) or _line_of(c))


def _line_of(cls):
    # Python 3.13 records the line; a PyNode script's class has it set by
    # its loader (inspect cannot find a class whose module is "__main__").
    line = cls.__dict__.get("__firstlineno__")
    if line:
        return line
    try:
        return _inspect.getsourcelines(cls)[1]
    except (OSError, TypeError):
        return 0


class _LineWriter:
    """Wraps sys.stdout / sys.stderr so that text printed by nodes on
    different render threads is written a whole line at a time: `print`
    writes the text and the newline separately, and another thread could
    otherwise write between them. A line longer than _LONGEST is written in
    parts as it comes, so that a node printing without newlines is seen and
    holds no more than that."""

    _LONGEST = 65536

    def __init__(self, stream):
        import os
        import threading

        self._stream = stream
        self._lock = threading.Lock()
        self._ident = threading.get_ident
        # Each thread's unfinished line: (its length, its pieces), joined
        # once, when it ends (adding to one string would be quadratic).
        self._partial = {}
        # Where the tessera command draws its progress bar on this terminal
        # (it sets TESSERA_PROGRESS_BAR), a line first erases the bar's, so
        # that it does not follow the bar's text; the bar is drawn again
        # below it. Not within a line already begun (`_mid_line`: threads
        # whose last write ended without a newline).
        try:
            under_bar = os.environ.get("TESSERA_PROGRESS_BAR") == "1" and stream.isatty()
        except (AttributeError, ValueError, OSError):
            under_bar = False
        self._erase = "\r\x1b[2K" if under_bar else ""
        self._mid_line = set()

    def write(self, text):
        ident = self._ident()
        length, pieces = self._partial.pop(ident, (0, []))
        end = text.rfind("\n") + 1
        if not end and length + len(text) < self._LONGEST:
            pieces.append(text)
            self._partial[ident] = (length + len(text), pieces)
            return len(text)
        if end:
            pieces.append(text[:end])
        else:
            pieces.append(text)
        with self._lock:
            self._write(ident, "".join(pieces))
        if end and end < len(text):
            self._partial[ident] = (len(text) - end, [text[end:]])
        return len(text)

    def _write(self, ident, text):
        """Writes `text`, which `ident`'s thread printed, under the lock."""
        # One write: a line-buffered stream flushes at the erase's "\r",
        # and the bar could be drawn again between the two.
        at_line_start = ident not in self._mid_line
        self._stream.write(self._erase + text if at_line_start else text)
        if text.endswith("\n"):
            self._mid_line.discard(ident)
        else:
            self._mid_line.add(ident)

    def flush(self):
        """Flushes this thread's unfinished line too; under the progress bar
        it waits for its end (or Tessera's exit) instead: written now, the
        bar's next drawing would erase it, and the rest would follow the
        bar's text."""
        ident = self._ident()
        pieces = [] if self._erase else self._partial.pop(ident, (0, []))[1]
        with self._lock:
            if pieces:
                self._write(ident, "".join(pieces))
            self._stream.flush()

    def _flush_all(self):
        """At exit: every thread's unfinished line, then the stream."""
        with self._lock:
            for ident in list(self._partial):
                # (A thread between its pop and its put has it in hand.)
                self._write(ident, "".join(self._partial.pop(ident, (0, ()))[1]))
            self._stream.flush()

    def __getattr__(self, name):
        return getattr(self._stream, name)


class _NumpySeeder:
    """Seeds numpy's legacy global generator (`numpy.random.seed`) with the
    render's seed as a node first imports it, as it is seeded before each
    render when already imported: a node importing numpy inside a call
    draws the numbers one importing it at the top does. (A finder on
    `sys.meta_path` that finds nothing but wraps `numpy.random`'s loading.)"""

    seed = None

    def find_spec(self, name, path=None, target=None):
        if name != "numpy.random" or self.seed is None:
            return None
        import importlib.machinery

        spec = importlib.machinery.PathFinder.find_spec(name, path, target)
        loader = getattr(spec, "loader", None)
        if not hasattr(loader, "exec_module"):
            return None
        exec_module, seed = loader.exec_module, self.seed

        def exec_and_seed(module):
            exec_module(module)
            module.seed(seed)

        loader.exec_module = exec_and_seed
        return spec


_numpy_seeder = _NumpySeeder()


def _seed_random(seed):
    """Before a render: Python's `random`, and numpy's legacy generator now
    or when it is imported, seeded with the render's seed."""
    import random
    import sys

    random.seed(seed)
    # numpy 2 imports numpy.random only when it is first used. It is
    # imported here, as Tessera always has: in a process whose allocator
    # Tessera leaves alone (the package renders in its user's), a numpy
    # node at tile 64 rendered 2x slower without that import, which leaves
    # glibc's malloc keeping freed memory (docs/performance.md).
    if "numpy" in sys.modules:
        import numpy.random

        numpy.random.seed(seed)
    _numpy_seeder.seed = seed
    if _numpy_seeder not in sys.meta_path:
        sys.meta_path.insert(0, _numpy_seeder)


def _install_line_writers():
    import sys

    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, _LineWriter):
            setattr(sys, name, _LineWriter(stream))


def _limit_library_threads():
    """One thread for numpy's BLAS (OpenBLAS, MKL, BLIS) and OpenMP code,
    unless the user chose: Tessera's parallelism is its render threads and
    worker processes, and an idle BLAS pool's threads spin for a while,
    taking the cores the render needs (11% of a one-thread numpy render's
    samples in `perf`). Set before any script imports numpy."""
    import os

    for name in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS", "BLIS_NUM_THREADS"):
        os.environ.setdefault(name, "1")


class ProcessExit(BaseException):
    """Raised by `os._exit` called in Tessera's own process: a node must
    return or raise, never end the renderer (a BaseException, as SystemExit
    is, so that `except Exception` does not swallow it)."""


def _guard_process_exit():
    """Makes os._exit in this process raise ProcessExit, so that the error
    names the node and the line; a process forked by a node (multiprocessing)
    still exits as asked."""
    import os

    if getattr(os._exit, "_tessera_guard", False):
        return
    real_exit = os._exit
    owner = os.getpid()

    def _exit(status):
        if os.getpid() != owner:
            real_exit(status)
        raise ProcessExit(f"os._exit({status}) would end Tessera's process; a node must return or raise instead")

    _exit._tessera_guard = True
    _exit.__wrapped__ = real_exit
    os._exit = _exit


def _lingering_threads():
    """Threads started by Python code (not Tessera's own) still running."""
    import sys
    import threading

    found = []
    for thread in threading.enumerate():
        if thread is threading.main_thread() or isinstance(thread, threading._DummyThread):
            continue
        if not thread.is_alive():
            continue
        target = getattr(thread, "_target", None) or getattr(thread, "function", None)
        where = ""
        if target is not None:
            module = sys.modules.get(getattr(target, "__module__", ""), None)
            script = getattr(module, "__file__", None)
            where = f" running {getattr(target, '__qualname__', target)}()" + (f" from {script}" if script else "")
        found.append(f"{thread.name}{where}")
    return found


class TileContext:
    """`ctx` of `evaluate_tile`: per-sample numpy arrays of the tile (read-only),
    plus the frame's facts."""

    def __init__(self, np, n, info, x, y, u, v, sample, draws):
        for array in (x, y, u, v, sample):
            array.flags.writeable = False
        self.x, self.y, self.u, self.v, self.sample = x, y, u, v, sample
        self.frame, self.time, self.fps = info["frame"], info["time"], info["fps"]
        self.width, self.height = info["width"], info["height"]
        self.tile, self.seed, self.node = info["tile"], info["seed"], info["node"]
        self._np = np
        self._n = n
        self._draws = draws

    def random(self, shape=None):
        """Deterministic floats in [0, 1): shape (n,) or (n, k), n the samples of
        the tile. The j-th value of sample i equals what the per-sample
        `ctx.random()` gives on its j-th call (counting earlier calls here)."""
        shape = (self._n,) if shape is None else shape
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        if len(shape) not in (1, 2) or shape[0] != self._n:
            raise ValueError(f"ctx.random(shape): shape must be ({self._n},) or ({self._n}, k), not {shape}")
        k = 1 if len(shape) == 1 else shape[1]
        return self._draws.draw(k).reshape(shape)


class _TileResultError(Exception):
    """A value `evaluate_tile` returned that Tessera cannot use; `index` is the
    first sample at fault, when one is."""

    def __init__(self, message, index=None):
        super().__init__(message)
        self.index = index


# numpy once checked: _numpy() runs before every tile.
_checked_numpy = None


def _numpy():
    global _checked_numpy
    if _checked_numpy is not None:
        return _checked_numpy
    try:
        import numpy
    except ImportError:
        raise ModuleNotFoundError("evaluate_tile needs numpy", name="numpy") from None
    # Tessera's numpy crate (rust-numpy 0.30) loads the C API of numpy 1.15
    # to 2.x; any other would fail deep inside a render, so it is refused here.
    version = getattr(numpy, "__version__", "unknown")
    found = _re.match(r"(\d+)\.(\d+)", version)
    major, minor = (int(found[1]), int(found[2])) if found else (0, 0)
    if not ((1, 15) <= (major, minor) and major <= 2):
        raise ImportError(f"evaluate_tile needs numpy 1.15 to 2.x; {numpy.__file__} is numpy {version}", name="numpy")
    _checked_numpy = numpy
    return numpy


def _call_tile(node, n, info, positions, draws, names, payloads, channels, output_names, output_channels):
    """Calls node.evaluate_tile(ctx, **inputs) with numpy arrays; returns each
    output as a Fortran-ordered float32 array (its columns are Tessera's
    channel planes), or raises _TileResultError."""
    np = _numpy()
    ctx = TileContext(np, n, info, *positions, draws)
    inputs = {}
    for name, payload, count in zip(names, payloads, channels):
        # payload: a constant, or a read-only (n, count) view of the tile's
        # buffer, Fortran-ordered: each column is one of its channel planes.
        inputs[name] = payload.reshape(n) if count == 1 else payload
    result = node.evaluate_tile(ctx, **inputs)
    listed = ", ".join(output_names)
    if isinstance(result, dict):
        for key in result:
            if key not in output_names:
                raise _TileResultError(f"returned an unknown output `{key}` (outputs: {listed})")
        missing = [name for name in output_names if name not in result]
        if missing:
            raise _TileResultError(f"returned no output `{missing[0]}` (outputs: {listed})")
        values = [result[name] for name in output_names]
    elif len(output_names) == 1:
        values = [result]
    elif isinstance(result, (tuple, list)):
        if len(result) != len(output_names):
            values = "value" if len(result) == 1 else "values"
            raise _TileResultError(f"returned {len(result)} {values} for {len(output_names)} outputs ({listed})")
        values = list(result)
    else:
        raise _TileResultError(
            f"returned a {type(result).__name__}; expected a dict of the outputs ({listed}) or a tuple in that order"
        )
    out = []
    for name, count, value in zip(output_names, output_channels, values):
        array = np.asarray(value)
        if array.dtype.kind not in "fiub":
            raise _TileResultError(f"output `{name}` has dtype {array.dtype}; expected float32 numbers")
        if count == 4 and array.shape == (n, 3):
            array = np.concatenate([array, np.ones((n, 1), dtype=array.dtype)], axis=1)
        expected = (n,) if count == 1 else (n, count)
        if array.shape != expected:
            raise _TileResultError(f"output `{name}` has shape {array.shape}; expected {expected}")
        array = np.asfortranarray(array, dtype=np.float32)
        bad = ~np.isfinite(array.reshape(n, -1)).all(axis=1)
        if bad.any():
            index = int(np.argmax(bad))
            raise _TileResultError(f"output `{name}` is {array[index].tolist()} there; outputs must be finite", index)
        out.append(array)
    return out
