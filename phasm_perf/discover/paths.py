"""A variable's access path, as the user writes it: ``self.glass.index``, ``CONFIG['scale']``, ``ray[0]``, ``out``.

A path is a root name and steps, each ``("attr", name)`` or ``("item", key)``. :func:`format_name` writes it,
:func:`parse_name` reads it back (bench resolves discovered variables by their names), :func:`get_step` follows one
step *without running the program's code*: an attribute is looked up in the instance's ``__dict__``, its slots and
its class's plain data (a property or any other descriptor written in Python is not called: its getter is code the
observer sees run), an item only in a list, tuple, dict or numpy array. Runs inside the user's program: no numpy
needed, nothing of phasm-perf imported.
"""

from __future__ import annotations

import ast
import types
from typing import Any

MISSING = object()
Step = tuple  # ("attr", name) | ("item", key)

_SAFE_DESCRIPTORS = (types.MemberDescriptorType, types.GetSetDescriptorType)
_INDEXABLE = (list, tuple, dict)


def format_name(root: str, steps: tuple | list = ()) -> str:
    out = [root]
    for kind, key in steps:
        if kind == "attr":
            out.append(f".{key}")
        elif isinstance(key, tuple):
            out.append("[" + ", ".join(repr(k) for k in key) + "]")
        else:
            out.append(f"[{key!r}]")
    return "".join(out)


def parse_name(name: str) -> tuple[str, list[Step]]:
    """``"self.a['k'][0]"`` -> ``("self", [("attr", "a"), ("item", "k"), ("item", 0)])``; the root may be dotted
    when it is another module's global (``config.SCALE`` parses as root ``config`` and one attribute step)."""
    try:
        node = ast.parse(name, mode="eval").body
    except SyntaxError:
        raise ValueError(f"not a variable path: {name!r}") from None
    steps: list[Step] = []
    while True:
        if isinstance(node, ast.Attribute):
            steps.append(("attr", node.attr))
            node = node.value
        elif isinstance(node, ast.Subscript):
            try:
                key = ast.literal_eval(node.slice)
            except ValueError:
                raise ValueError(f"not a variable path: {name!r} (only constant keys)") from None
            steps.append(("item", key))
            node = node.value
        elif isinstance(node, ast.Name):
            return node.id, steps[::-1]
        else:
            raise ValueError(f"not a variable path: {name!r}")


def get_attr(obj: Any, name: str) -> Any:
    """``obj.name`` when it is plain data (instance dict, slot, C getset, class attribute), else :data:`MISSING`."""
    if isinstance(obj, types.ModuleType):
        return obj.__dict__.get(name, MISSING)
    try:
        d = object.__getattribute__(obj, "__dict__")
    except (AttributeError, TypeError):
        d = None
    if isinstance(d, dict) and name in d:
        return d[name]
    for klass in type(obj).__mro__:
        attr = klass.__dict__.get(name, MISSING)
        if attr is MISSING:
            continue
        if isinstance(attr, _SAFE_DESCRIPTORS):
            try:
                return attr.__get__(obj, type(obj))
            except AttributeError:
                return MISSING
        if hasattr(type(attr), "__get__"):
            return MISSING  # a property, a method, a classmethod: code, not data
        return attr
    if isinstance(obj, type):
        return obj.__dict__.get(name, MISSING)
    return MISSING


def get_item(obj: Any, key: Any) -> Any:
    if isinstance(obj, _INDEXABLE) or type(obj).__name__ == "ndarray":
        try:
            return obj[key]
        except (KeyError, IndexError, TypeError, ValueError):
            return MISSING
    return MISSING


def get_step(obj: Any, step: Step) -> Any:
    kind, key = step
    return get_attr(obj, key) if kind == "attr" else get_item(obj, key)


def follow(obj: Any, steps: list[Step] | tuple) -> Any:
    for step in steps:
        if obj is MISSING:
            return MISSING
        obj = get_step(obj, step)
    return obj


def assign(obj: Any, steps: list[Step] | tuple, value: Any) -> None:
    """Write ``value`` at ``obj`` + ``steps`` (the last step an attribute or an item); an array is written in place
    when the target already is an array of that shape."""
    parent = follow(obj, steps[:-1])
    if parent is MISSING:
        raise LookupError("the path does not lead to an object")
    kind, key = steps[-1]
    if kind == "attr":
        setattr(parent, key, value)
    else:
        parent[key] = value
