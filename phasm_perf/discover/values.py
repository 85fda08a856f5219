"""Values seen inside the program: is it numeric data (dtype, shape, size), how it ranged over calls, what changed.

- :func:`describe`  a value as numbers (:class:`Desc`), or the reason it is not numbers (a ``str``), or ``None``
                    for an object that is not data itself (an instance, a module, a function: its attributes are)
- :class:`Stats`    one variable over the observed calls: dtype, shape, range, whether it stayed constant
- :func:`snapshot` / :func:`changes`   a copy of what a call may write, and the paths that differ after the call

Runs inside the user's program: numpy is used when the program imported it (its arrays), never imported here.
"""

from __future__ import annotations

import math
import numbers
import sys
import types
from dataclasses import dataclass, field
from typing import Any

from .paths import MISSING, get_attr


def _numpy():
    """numpy if the program imported it (it then may have arrays); never imported here: that would cost a program
    without numpy a tenth of a second."""
    return sys.modules.get("numpy")

#: values with more scalars than this are sized and typed but not copied (range and constancy unknown)
MAX_SCALARS = 4_000_000
_ORDER = {"bool": 0, "int64": 1, "float64": 2}
_NOT_DATA = (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.MethodType, type,
             types.CodeType, types.FrameType, property, classmethod, staticmethod)


@dataclass
class Desc:
    dtype: str
    shape: list[int]
    size: int
    itemsize: int
    data: Any = None  # a float (scalar), a list of floats, or a numpy array (a copy); None when too large

    def flat(self) -> list[float] | Any:
        if self.data is None:
            return []
        if isinstance(self.data, float):
            return [self.data]
        return self.data


def is_array(v: Any) -> bool:
    np = _numpy()
    return np is not None and isinstance(v, np.ndarray)


def _scalar(v: Any) -> Desc | None:
    np = _numpy()
    if isinstance(v, bool) or (np is not None and isinstance(v, np.bool_)):
        return Desc("bool", [], 1, 1, float(v))
    if np is not None and isinstance(v, np.generic):
        if v.dtype.kind in "iuf":
            return Desc(v.dtype.name, [], 1, v.dtype.itemsize, float(v))
        return None
    if isinstance(v, numbers.Integral):
        return Desc("int64", [], 1, 8, float(v))
    if isinstance(v, numbers.Real):
        return Desc("float64", [], 1, 8, float(v))
    return None


def describe(v: Any) -> Desc | str | None:
    """Numbers (:class:`Desc`), a reason they are not (``str``), or ``None``: not data (look at its attributes)."""
    if v is None or isinstance(v, _NOT_DATA):
        return None
    d = _scalar(v)
    if d is not None:
        return d
    if is_array(v):
        if v.dtype.kind not in "biuf":
            return f"a numpy array of {v.dtype.name}"
        dtype = "bool" if v.dtype.kind == "b" else v.dtype.name
        data = v.astype(float).ravel() if v.size <= MAX_SCALARS else None
        return Desc(dtype, list(v.shape), int(v.size), v.dtype.itemsize, data)
    if isinstance(v, (str, bytes)):
        return f"a {type(v).__name__}"
    if isinstance(v, complex):
        return "a complex number"
    if isinstance(v, (list, tuple, dict)):
        return _container(v)
    return None


def _container(v: list | tuple | dict) -> Desc | str:
    items = list(v.values()) if isinstance(v, dict) else v
    if isinstance(v, dict) and not all(isinstance(k, (str, int)) for k in v):
        return "a dict with keys that are not str or int"
    flat: list[float] = []
    dtype, itemsize, shape = "bool", 1, [len(items)]
    nested = []
    for item in items:
        d = describe(item)
        if not isinstance(d, Desc):
            what = d if isinstance(d, str) else f"a {type(item).__name__}"
            return f"a {type(v).__name__} holding {what}"
        if _ORDER.get(d.dtype, 2) > _ORDER.get(dtype, 2) or d.itemsize > itemsize:
            dtype, itemsize = (d.dtype if d.dtype in _ORDER else "float64"), max(itemsize, d.itemsize)
        nested.append(d.shape)
        flat.extend(d.flat() if not is_array(d.data) else d.data.tolist())
    if nested and all(s == nested[0] for s in nested) and not isinstance(v, dict):
        shape = [len(items), *nested[0]]
    else:
        shape = [len(flat)]
    return Desc(dtype, shape, len(flat), itemsize, flat)


def equal(a: Any, b: Any) -> bool:
    """Same numbers (NaN equals NaN), for the data of two :class:`Desc`."""
    if a is None or b is None:
        return False
    if is_array(a) or is_array(b):
        np = _numpy()
        if len(a) != len(b):
            return False
        return bool(np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True))
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


def _range(data: Any) -> tuple[float, float] | None:
    if data is None:
        return None
    if isinstance(data, float):
        return (data, data) if math.isfinite(data) else None
    if is_array(data):
        finite = data[_numpy().isfinite(data)]
        return (float(finite.min()), float(finite.max())) if finite.size else None
    finite = [x for x in data if math.isfinite(x)]
    return (min(finite), max(finite)) if finite else None


@dataclass
class Stats:
    """One variable over the observed calls."""

    dtype: str = ""
    shape: list[int] = field(default_factory=list)
    size: int = 0
    itemsize: int = 8
    calls: int = 0
    min: float | None = None
    max: float | None = None
    constant: bool = True
    first: Any = None
    shape_varies: bool = False

    def add(self, d: Desc) -> None:
        if self.calls == 0:
            self.dtype, self.shape, self.size, self.itemsize = d.dtype, list(d.shape), d.size, d.itemsize
            self.first = d.data
        else:
            if d.shape != self.shape:
                self.shape_varies = True
                self.constant = False
                if d.size > self.size:
                    self.dtype, self.shape, self.size, self.itemsize = d.dtype, list(d.shape), d.size, d.itemsize
            elif self.constant and not equal(self.first, d.data):
                self.constant = False
        self.calls += 1
        r = _range(d.data)
        if r is not None:
            self.min = r[0] if self.min is None else min(self.min, r[0])
            self.max = r[1] if self.max is None else max(self.max, r[1])

    def to_json(self) -> dict:
        return {"dtype": self.dtype, "shape": self.shape, "size": self.size, "itemsize": self.itemsize,
                "calls": self.calls, "min": self.min, "max": self.max,
                "constant": self.constant and self.calls > 1 and self.first is not None,
                "shape_varies": self.shape_varies}


# ---- what a call may write: a copy before, the paths that differ after ---------------------------------------
def is_user_object(v: Any) -> bool:
    """An instance whose attributes may hold data (not a module, function, class or builtin value)."""
    if isinstance(v, _NOT_DATA) or v is None or isinstance(v, (str, bytes, numbers.Number)):
        return False
    return hasattr(v, "__dict__") or hasattr(type(v), "__slots__")


def snapshot(v: Any, depth: int = 3) -> tuple:
    """A copy of ``v`` to compare with after the call: ``(object, kind, copy)``."""
    if is_array(v):
        return (v, "array", v.copy() if v.size <= MAX_SCALARS else None)
    if isinstance(v, dict) and depth > 0:
        return (v, "dict", {k: snapshot(x, depth - 1) for k, x in list(v.items())[:10_000]})
    if isinstance(v, list) and depth > 0:
        return (v, "list", [snapshot(x, depth - 1) for x in v[:10_000]])
    if isinstance(v, tuple) and depth > 0:
        return (v, "tuple", [snapshot(x, depth - 1) for x in v[:10_000]])
    if is_user_object(v) and depth > 0:
        attrs = _attrs(v)
        return (v, "object", {k: snapshot(x, depth - 1) for k, x in attrs.items()})
    d = _scalar(v)
    return (v, "scalar", d.data if d is not None else None)


def _attrs(v: Any) -> dict:
    out = {}
    try:
        d = object.__getattribute__(v, "__dict__")
    except (AttributeError, TypeError):
        d = None
    if isinstance(d, dict):
        out.update((k, x) for k, x in d.items() if isinstance(k, str) and not k.startswith("__"))
    for klass in type(v).__mro__:
        slots = klass.__dict__.get("__slots__", ())
        for slot in (slots,) if isinstance(slots, str) else slots:
            if slot not in out and not slot.startswith("__"):
                x = get_attr(v, slot)
                if x is not MISSING:
                    out[slot] = x
    return out


def changes(snap: tuple, now: Any, path: tuple = ()) -> list[tuple[tuple, Any]]:
    """``[(path, detail)]`` where ``now`` differs from ``snap``: for an array whose shape stayed, detail is the set
    of changed flat positions (``"many"`` past 64); ``None`` for anything else (the whole value at that path)."""
    obj, kind, copy = snap
    if now is not obj and not (kind == "scalar" and _same_scalar(copy, now)):
        return [(path, None)]
    if kind == "array":
        if copy is None or copy.shape != now.shape:
            return [(path, None)]
        same = copy == now
        if now.dtype.kind == "f":
            same |= _numpy().isnan(copy) & _numpy().isnan(now)
        diff = ~same
        pos = _numpy().flatnonzero(diff)
        return [(path, set(pos.tolist()) if pos.size <= 64 else "many")] if pos.size else []
    if kind in ("list", "tuple"):
        if len(now) != len(copy):
            return [(path, None)]
        return [c for i, s in enumerate(copy) for c in changes(s, now[i], path + (("item", i),))]
    if kind == "dict":
        if list(now) != list(copy):
            return [(path, None)]
        return [c for k, s in copy.items() for c in changes(s, now[k], path + (("item", k),))]
    if kind == "object":
        attrs = _attrs(now)
        out = [(path + (("attr", k),), None) for k in attrs if k not in copy]
        for k, s in copy.items():
            out += [(path + (("attr", k),), None)] if k not in attrs else changes(s, attrs[k], path + (("attr", k),))
        return out
    return []


def _same_scalar(copy: Any, now: Any) -> bool:
    d = _scalar(now)
    return d is not None and copy is not None and equal(copy, d.data)
