"""Blender 2.4x PyNode scripts as Tessera nodes (docs/blender-pynodes.md).

A script is loaded as Blender 2.49 loaded it: run in a fresh namespace
(`__name__ == "__main__"`) that alone can import the `Blender` package; its
node class (`__node__`, else the first class it defines deriving from
`Node.Scripted`) is called once with the socket lists, and that one instance
serves every node of the scene using the script. The result is a
`tessera.Node` subclass whose sockets are the script's, so that policies,
worker processes, errors and `tessera nodes` treat it as any Python node.
"""

import builtins as _builtins
import linecache as _linecache
import sys as _sys
import threading as _threading
import tokenize as _tokenize
import types as _types

import tessera as _tessera

# The Blender package's modules, in the order they run (later ones import
# earlier ones), and their sources (set by Tessera at start-up).
_MODULES = ("Mathutils", "Noise", "Node", "Scene", "Window")
_SOURCES = {}


def _set_sources(sources):
    for name in _MODULES:
        source = sources[name]
        _SOURCES[name] = source
        filename = f"<Blender.{name}>"
        # Tracebacks through the package show its lines.
        _linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)


def _importer(package):
    """An `__import__` that finds `Blender` and its modules in `package`."""
    real = _builtins.__import__
    available = ", ".join(_MODULES)

    def __import__(name, globals=None, locals=None, fromlist=(), level=0):
        if level != 0 or not (name == "Blender" or name.startswith("Blender.")):
            return real(name, globals, locals, fromlist, level)
        module = package
        for part in name.split(".")[1:]:
            module = getattr(module, part, None)
            if not isinstance(module, _types.ModuleType):
                raise ModuleNotFoundError(
                    f"No module named {name!r}: Tessera's Blender has {available} (docs/blender-pynodes.md)",
                    name=name,
                )
        for item in fromlist or ():
            if item != "*" and not hasattr(module, item):
                raise ImportError(
                    f"cannot import name {item!r} from {module.__name__!r}: "
                    + (f"Tessera's Blender has {available}" if module is package else "Tessera does not provide it")
                    + " (docs/blender-pynodes.md)",
                    name=module.__name__,
                )
        return module if fromlist else package

    return __import__


def _blender_package(context):
    """A fresh `Blender` package for one script, and the builtins that let
    code import it. `context()` gives the sample's ctx, or None."""
    package = _types.ModuleType("Blender", "Blender 2.4x's Python API, as far as PyNode scripts use it")
    package.__path__ = []
    scope = dict(vars(_builtins))
    scope["__import__"] = _importer(package)
    for name in _MODULES:
        module = _types.ModuleType(f"Blender.{name}")
        module.__dict__["__builtins__"] = scope
        exec(compile(_SOURCES[name], f"<Blender.{name}>", "exec"), module.__dict__)
        setattr(package, name, module)
    package.Noise._context = context
    package.Scene._context = context
    return package, scope


def _is_pynode(path):
    """Whether the script at `path` imports Blender (a PyNode script), read
    without running it; False when it cannot be parsed."""
    import ast

    try:
        with _tokenize.open(path) as f:
            tree = ast.parse(f.read(), filename=path)
    except (SyntaxError, ValueError, OSError):
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "Blender" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "Blender":
            return True
    return False


class PyNodeClassError(LookupError):
    """The script has no node class of the name asked for."""


def _node_class(namespace, class_name, scripted, path):
    """The script's node class: `class_name` if given, else `__node__`, else
    the first class the script defines deriving from Node.Scripted."""
    if class_name:
        found = namespace.get(class_name)
        if not isinstance(found, type):
            defined = [k for k, v in namespace.items() if isinstance(v, type) and v.__module__ == "__main__"]
            raise PyNodeClassError(
                f"{path} has no class `{class_name}`: it defines {', '.join(defined) or 'no class'}"
            )
    elif "__node__" in namespace:
        found = namespace["__node__"]
        if not isinstance(found, type):
            raise TypeError(f"__node__ must be a class, not {type(found).__name__}")
    else:
        found = next(
            (
                v for k, v in namespace.items()
                if isinstance(v, type) and k not in ("Socket", "Scripted") and issubclass(v, scripted)
            ),
            None,
        )
        if found is None:
            raise TypeError("the script defines no node class: no `__node__` and no subclass of Node.Scripted")
    if not issubclass(found, scripted):
        raise TypeError(f"{found.__name__} does not derive from Blender.Node.Scripted")
    return found


def _record_class_lines(namespace, source, path):
    """Sets `__firstlineno__` (as Python 3.13 does) on the classes the script
    defines at its top level, so that errors and `tessera nodes` can name the
    line of a class whose module is "__main__"."""
    import ast

    for statement in ast.parse(source, filename=path).body:
        found = namespace.get(statement.name) if isinstance(statement, ast.ClassDef) else None
        if isinstance(found, type) and "__firstlineno__" not in vars(found):
            found.__firstlineno__ = statement.lineno


def _sockets(sockets, what, name):
    seen = {}
    for socket in sockets:
        key = socket.name.lower()
        if key in seen:
            raise TypeError(f"{name}: two {what} sockets named {seen[key]!r} and {socket.name!r} (names ignore case)")
        seen[key] = socket.name


def _tessera_socket(socket, node_module):
    kind = {node_module.VALUE: _tessera.Float, node_module.VECTOR: _tessera.Vector3, node_module.RGBA: _tessera.Color}
    values = [socket.val] if isinstance(socket.val, float) else list(socket.val)
    # Blender kept a default outside [min, max]; the range widens to hold it.
    low, high = min([socket.min] + values), max([socket.max] + values)
    doc = f"{socket.name}: a Blender {node_module._TYPE_NAMES[socket.type]} socket"
    return kind[socket.type](socket.val, min=low, max=high, doc=doc)


def _load(path, module_name, class_name):
    """The tessera.Node class running class `class_name` (empty: the one
    Blender would choose) of the PyNode script at `path`. The script runs once
    per `module_name` (the scene's name for it, whose sys.modules entry holds
    the script's namespace and the classes made from it)."""
    holder = _sys.modules.get(module_name)
    if holder is None:
        with _tokenize.open(path) as f:
            source = f.read()
        code = compile(source, path, "exec")
        current = _threading.local()
        package, scope = _blender_package(lambda: getattr(current, "ctx", None))
        namespace = {"__builtins__": scope, "__name__": "__main__", "__file__": path}
        exec(code, namespace)
        package.Noise._script_loaded()
        _record_class_lines(namespace, source, path)
        holder = _types.ModuleType(module_name, f"the PyNode script {path}")
        holder.namespace, holder.package, holder.current, holder.nodes = namespace, package, current, {}
        _sys.modules[module_name] = holder
    # By class, not by name: `class = ""` and the name of the class Blender
    # would choose are one node class, with one shared instance.
    script_class = _node_class(holder.namespace, class_name, holder.package.Node.Scripted, path)
    node = holder.nodes.get(script_class)
    if node is None:
        node = holder.nodes[script_class] = _wrap(script_class, holder.package, holder.current)
    return node


def _wrap(script_class, package, current):
    """A tessera.Node subclass calling an instance of `script_class`."""
    node_module = package.Node
    lists = node_module._SocketLists()
    shared = script_class(lists)
    inputs, outputs = list(lists.input), list(lists.output)
    name = script_class.__name__
    if not any("__call__" in vars(k) for k in script_class.__mro__[:-1]):
        raise TypeError(f"{name} defines no __call__(self), which computes a sample")
    _sockets(inputs, "input", name)
    _sockets(outputs, "output", name)
    if not outputs:
        raise TypeError(f"{name} declares no output socket (sockets.output = [...] in __init__)")

    def instance(script):
        script.__dict__["_tessera_samples"] = _threading.local()
        return script

    # The instance every node using the script shares, and the render it
    # was made for (None: at load, before any render).
    shared = {"instance": instance(shared), "render": None}

    class PyNode(_tessera.Node):
        __doc__ = script_class.__doc__ or f"Blender 2.4x PyNode {name}"
        pure = False
        _blender_class = script_class

        def __init__(self):
            self._script = shared["instance"]

        @classmethod
        def _tessera_renewed(cls, render):
            """For a later render (a frame of a range): a node calling the
            one new instance of the script's class that the nodes using the
            script share for that render, made by the first of them."""
            if shared["render"] != render:
                package.Noise._renew(render)
                shared["instance"] = instance(script_class(node_module._SocketLists()))
                shared["render"] = render
            return cls()

        @classmethod
        def _tessera_fresh(cls):
            """For `isolated` (one instance per tile): a node calling a new
            instance of the script's class."""
            node = cls()
            node._script = instance(script_class(node_module._SocketLists()))
            return node

        def setup(self):
            package.Noise._begin_render()

        def __call__(self, ctx, *values):
            samples = self._script.__dict__["_tessera_samples"]
            sample = getattr(samples, "current", None)
            if sample is None:
                sample = samples.current = node_module._Sample(inputs, outputs)
            object.__setattr__(sample.inputs, "_values", values)
            sample.ctx = ctx
            current.ctx = ctx
            self._script()
            written = sample.outputs.values
            return written[0] if len(written) == 1 else tuple(written)

    PyNode.__name__ = PyNode.__qualname__ = name
    PyNode.inputs = {s.name: _tessera_socket(s, node_module) for s in inputs}
    PyNode.outputs = {s.name: _tessera_socket(s, node_module) for s in outputs}
    return PyNode
