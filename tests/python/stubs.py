"""The stub check: scripts/tessera.pyi against the `tessera` module that
Tessera installs, run inside Tessera's own interpreter (the only place the
module exists) as the setup() of nodes of tests/python/stubs.toml, which
`tessera check` builds (tests/python.rs).

Every public name, class member and function parameter must be in both.
"""
import ast
import dis
import inspect
import os

import tessera

STUB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "tessera.pyi")


def _parameters(function):
    arguments = function.args
    names = [a.arg for a in arguments.posonlyargs + arguments.args]
    names += [f"*{arguments.vararg.arg}"] if arguments.vararg else []
    names += [a.arg for a in arguments.kwonlyargs]
    names += [f"**{arguments.kwarg.arg}"] if arguments.kwarg else []
    return names


def _is_property(function):
    return any(isinstance(d, ast.Name) and d.id == "property" for d in function.decorator_list)


def _assigned(statement):
    """The names a module- or class-level assignment binds."""
    if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
        return [statement.target.id]
    if isinstance(statement, ast.Assign):
        return [t.id for t in statement.targets if isinstance(t, ast.Name)]
    return []


def stub_api(source):
    """{name: parameters (a function), {member: parameters or None} (a class,
    its stub bases' members included), or None (a constant)} for the public
    names of a stub's source."""
    api, bases = {}, {}
    for statement in ast.parse(source).body:
        if isinstance(statement, ast.ClassDef):
            members = {}
            for item in statement.body:
                if isinstance(item, ast.FunctionDef):
                    members[item.name] = None if _is_property(item) else _parameters(item)
                for name in _assigned(item):
                    members[name] = None
            api[statement.name] = {k: v for k, v in members.items() if not k.startswith("_")}
            bases[statement.name] = [b.id for b in statement.bases if isinstance(b, ast.Name)]
        elif isinstance(statement, ast.FunctionDef):
            api[statement.name] = _parameters(statement)
        for name in _assigned(statement):
            api[name] = None

    def inherited(name):
        members = {}
        for base in bases.get(name, []):
            if isinstance(api.get(base), dict):
                members.update(inherited(base))
        members.update(api[name])
        return members

    api = {name: inherited(name) if name in bases else value for name, value in api.items()}
    return {k: v for k, v in api.items() if not k.startswith("_")}


def _runtime_parameters(function):
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return None  # a builtin without a text signature: names unknown
    names = []
    for parameter in signature.parameters.values():
        prefix = {inspect.Parameter.VAR_POSITIONAL: "*", inspect.Parameter.VAR_KEYWORD: "**"}
        names.append(prefix.get(parameter.kind, "") + parameter.name)
    return names


def _instance_attributes(cls):
    """The public names a class's own __init__ stores on self."""
    init = vars(cls).get("__init__")
    if not inspect.isfunction(init):
        return []
    instructions = list(dis.get_instructions(init))

    def loads_self(instruction):
        # LOAD_FAST self, or a fused LOAD_FAST_LOAD_FAST whose last is self.
        loaded = instruction.argval
        return instruction.opname.startswith("LOAD_FAST") and (
            loaded == "self" or (isinstance(loaded, tuple) and loaded[-1] == "self"))

    stored = [i.argval for before, i in zip(instructions, instructions[1:])
              if i.opname == "STORE_ATTR" and loads_self(before)]
    return [name for name in stored if not name.startswith("_")]


def runtime_api(module):
    """The same shape as stub_api, for the module itself: a class's members
    are its own and its bases' (up to the builtins), class attributes and
    the attributes its __init__ stores."""
    api = {}
    for name, value in vars(module).items():
        if name.startswith("_") or inspect.ismodule(value):
            continue
        if inspect.isclass(value):
            members = {}
            for cls in reversed(value.__mro__):
                if cls.__module__ == "builtins":
                    continue
                for member in _instance_attributes(cls):
                    members[member] = None
                for member, attribute in vars(cls).items():
                    if member.startswith("_"):
                        continue
                    is_method = inspect.isfunction(attribute) or inspect.ismethoddescriptor(attribute)
                    members[member] = _runtime_parameters(attribute) if is_method else None
            api[name] = members
        elif inspect.isfunction(value):
            api[name] = _runtime_parameters(value)
        else:
            api[name] = None
    return api


def differences(module, stub_source):
    """What the stub and the module disagree on, one line each."""
    stub, runtime = stub_api(stub_source), runtime_api(module)
    found = []

    def compare(where, stub_value, runtime_value):
        if isinstance(stub_value, dict) or isinstance(runtime_value, dict):
            if not (isinstance(stub_value, dict) and isinstance(runtime_value, dict)):
                found.append(f"{where} is a class in only one of them")
                return
            for member in sorted(stub_value.keys() | runtime_value.keys()):
                inner = f"{where}.{member}"
                if member not in runtime_value:
                    found.append(f"{inner} is in the stub, not in the module")
                elif member not in stub_value:
                    found.append(f"{inner} is in the module, not in the stub")
                else:
                    compare(inner, stub_value[member], runtime_value[member])
        elif stub_value is not None and runtime_value is not None and stub_value != runtime_value:
            found.append(f"{where}: the stub says ({', '.join(stub_value)}), the module ({', '.join(runtime_value)})")

    # The module is compared as a class is: member by member.
    compare("tessera", stub, runtime)
    return found


def _stub_source():
    with open(STUB, encoding="utf-8") as stub:
        return stub.read()


class StubsMatch(tessera.Node):
    """Fails to set up when scripts/tessera.pyi and the module disagree."""

    outputs = {"out": tessera.Float()}
    pure = True

    def setup(self):
        found = differences(tessera, _stub_source())
        if found:
            raise AssertionError("scripts/tessera.pyi and the tessera module differ:\n" + "\n".join(found))

    def __call__(self, ctx):
        return 0.0


class CheckFindsDifferences(tessera.Node):
    """Fails to set up unless the check sees differences planted in the stub:
    a check that saw nothing would pass StubsMatch whatever the stub said."""

    outputs = {"out": tessera.Float()}
    pure = True

    def setup(self):
        source = _stub_source()
        planted = {
            "def extra(x): ...\n": ["tessera.extra is in the stub, not in the module"],
            "class Bool(Socket):": ["tessera.Bool is in the module, not in the stub",
                                    "tessera.Boolean is in the stub, not in the module"],
            "def setup(self) -> None:": ["tessera.Node.setup: the stub says (self, scene), the module (self)"],
            "    def x(self) -> int:": ["tessera.Context.x is in the module, not in the stub",
                                       "tessera.Context.xx is in the stub, not in the module"],
        }
        changed = {
            "def extra(x): ...\n": source + "\ndef extra(x): ...\n",
            "class Bool(Socket):": source.replace("class Bool(Socket):", "class Boolean(Socket):"),
            "def setup(self) -> None:": source.replace("def setup(self) -> None:", "def setup(self, scene) -> None:"),
            "    def x(self) -> int:": source.replace("    def x(self) -> int:", "    def xx(self) -> int:", 1),
        }
        for change, expected in planted.items():
            assert changed[change] != source, f"the stub no longer has {change!r}"
            found = differences(tessera, changed[change])
            assert found == expected, f"planting {change!r}: found {found}, expected {expected}"

    def __call__(self, ctx):
        return 0.0
