"""A minimal `tessera` module, so example scripts import outside Tessera
(for reference benchmarks only: sockets are inert)."""
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
