"""A minimal `tessera` module, so example scripts import outside Tessera
(for reference benchmarks only: sockets are inert)."""
import importlib.util
import os
import sys
import types


class _Socket:
    def __init__(self, *args, **kwargs):
        pass


class Node:
    inputs = {}
    outputs = {}
    pure = False

    def setup(self):
        pass


stub = types.ModuleType("tessera")
stub.Node = Node
stub.TEXCOORD = "texcoord"
for name in ("Float", "Int", "Bool", "Vector2", "Vector3", "Color"):
    setattr(stub, name, type(name, (_Socket,), {}))
sys.modules["tessera"] = stub


def load_script(name):
    """scripts/NAME.py, imported with this stub as its `tessera`."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", f"{name}.py")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
