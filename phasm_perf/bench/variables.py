"""A discovered variable inside the program: read it before a call, write it after (bench's capture and swap).

A variable is ``{"name": "self.glass.index", "root": "arg"}``: its name as ``phasm-perf vars`` lists it and where
its root lives: ``arg`` (a parameter of the function), ``global`` (its module's namespace; another module's by its
import name), ``cell`` (the function's closure) or ``return``. Writing follows what the program would see: an array
(or a list, a dict) that exists already is updated in place, so every reference the program holds sees the new
values; anything else is assigned (an attribute, a global, an item). Light: runs in the user's program.
"""

from __future__ import annotations

import sys
import types
from typing import Any, Callable, Sequence

from ..discover.paths import MISSING, follow, get_step, parse_name

Getter = Callable[[Sequence], Any]
Setter = Callable[[Sequence, Any], None]


def _root_getter(var: dict, names: list[str], func: types.FunctionType) -> tuple[Getter, list]:
    root = var.get("root", "arg")
    rname, steps = parse_name(var["name"])
    if root == "arg":
        if rname not in names:
            raise RuntimeError(f"phasm-perf: the surrogate needs argument {rname!r}, which the function lacks")
        i = names.index(rname)
        return (lambda vals: vals[i]), steps
    if root == "cell":
        cells = dict(zip(func.__code__.co_freevars, func.__closure__ or ()))
        if rname not in cells:
            raise RuntimeError(f"phasm-perf: the surrogate needs closure variable {rname!r}, which the function lacks")
        cell = cells[rname]
        return (lambda vals: cell.cell_contents), steps
    if root == "global":
        g = func.__globals__
        if rname in g or rname not in sys.modules:
            return (lambda vals: g), [("item", rname), *steps]
        module = sys.modules[rname]  # another module's global, named by its import name
        return (lambda vals: module), steps
    raise RuntimeError(f"phasm-perf: cannot read variable {var['name']!r} (root {root!r})")


def getter(var: dict, names: list[str], func: types.FunctionType) -> Getter:
    """``get(values_of_the_parameters)`` -> the variable's value now (``MISSING`` when it cannot be reached)."""
    base, steps = _root_getter(var, names, func)
    if not steps:
        return base
    return lambda vals: follow(base(vals), steps)


def setter(var: dict, names: list[str], func: types.FunctionType) -> Setter:
    """``set(values_of_the_parameters, value)``: write the variable (in place when it is an array already)."""
    base, steps = _root_getter(var, names, func)
    if not steps:
        return lambda vals, value: _in_place(base(vals), value, var["name"])
    head, last = steps[:-1], steps[-1]

    def put(vals, value):
        parent = follow(base(vals), head)
        if parent is MISSING:
            raise LookupError(f"{var['name']}: the object that holds it is gone")
        current = get_step(parent, last)
        if current is not MISSING and _fits(current, value):
            _in_place(current, value, var["name"])
        elif last[0] == "attr":
            setattr(parent, last[1], value)
        else:
            parent[last[1]] = value

    return put


def _fits(current: Any, value: Any) -> bool:
    if type(current).__name__ == "ndarray":
        return getattr(value, "shape", None) == current.shape
    return isinstance(current, (list, dict)) and type(value) is type(current) and len(value) == len(current)


def _in_place(current: Any, value: Any, name: str) -> None:
    if type(current).__name__ == "ndarray":
        current[...] = value
    elif isinstance(current, list):
        current[:] = value
    elif isinstance(current, dict):
        current.update(value)
    else:
        raise TypeError(f"{name} is a {type(current).__name__}: it cannot be written in place")
