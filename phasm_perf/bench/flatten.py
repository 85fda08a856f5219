"""Numeric values <-> flat vectors: the shape of a function's arguments and results, as a small JSON schema.

A *schema* describes one value: ``{"kind": "float"}`` (also ``int``, ``bool``, ``none``), ``{"kind": "tuple" |
"list", "items": [...]}``, ``{"kind": "dict", "keys": [...], "items": [...]}``, ``{"kind": "ndarray", "shape": [...],
"dtype": "float64"}``; a numpy scalar is ``float``/``int``/``bool`` with its ``"np"`` dtype. :func:`flatten` turns a
value into a list of floats in a fixed order; :func:`unflatten` rebuilds a value of the same shape. Anything else
(objects, strings, files, ragged lists) raises :class:`Unflattenable` with the offending type, so the caller can
report it by name. Pure and light: this module is imported inside the user's program (no torch here).
"""

from __future__ import annotations

import numbers
from typing import Any, Callable

try:  # numpy is optional inside the user's program
    import numpy as _np
except ImportError:  # pragma: no cover - numpy is a dependency of phasm-perf itself
    _np = None

Schema = dict


class Unflattenable(TypeError):
    """The value holds something that is not a number (the message names its type and where it is)."""


def schema_of(value: Any, where: str = "") -> Schema:
    """The schema of ``value``, or :class:`Unflattenable`."""
    if value is None:
        return {"kind": "none"}
    if isinstance(value, bool):
        return {"kind": "bool"}
    if _np is not None and isinstance(value, _np.generic):
        if isinstance(value, _np.bool_):
            return {"kind": "bool", "np": "bool"}
        if isinstance(value, _np.integer):
            return {"kind": "int", "np": value.dtype.name}
        if isinstance(value, _np.floating):
            return {"kind": "float", "np": value.dtype.name}
        raise Unflattenable(f"{where or 'value'} is a numpy {value.dtype.name} scalar")
    if isinstance(value, numbers.Integral):
        return {"kind": "int"}
    if isinstance(value, numbers.Real):
        return {"kind": "float"}
    if _np is not None and isinstance(value, _np.ndarray):
        if value.dtype.kind not in "biuf":
            raise Unflattenable(f"{where or 'value'} is a numpy array of {value.dtype.name}")
        return {"kind": "ndarray", "shape": list(value.shape), "dtype": value.dtype.name}
    if isinstance(value, (tuple, list)):
        kind = "tuple" if isinstance(value, tuple) else "list"
        return {"kind": kind, "items": [schema_of(v, f"{where}[{i}]") for i, v in enumerate(value)]}
    if isinstance(value, dict):
        keys = list(value)
        for k in keys:
            if not isinstance(k, (str, int)):
                raise Unflattenable(f"{where or 'value'} is a dict with a {type(k).__name__} key")
        return {"kind": "dict", "keys": keys, "items": [schema_of(value[k], f"{where}[{k!r}]") for k in keys]}
    raise Unflattenable(f"{where or 'value'} is a {type(value).__module__}.{type(value).__qualname__}"
                        if type(value).__module__ != "builtins" else f"{where or 'value'} is a {type(value).__name__}")


def width(schema: Schema) -> int:
    """How many numbers a value of this schema flattens to."""
    kind = schema["kind"]
    if kind in ("float", "int", "bool"):
        return 1
    if kind == "none":
        return 0
    if kind == "ndarray":
        n = 1
        for d in schema["shape"]:
            n *= d
        return n
    return sum(width(s) for s in schema["items"])


def numpy_scalars(schema: Schema) -> int:
    """How many of the flat numbers are numpy scalars (``numpy.float64`` and the like, not arrays): each costs
    more to marshal than a Python number (``hw measure``'s ``marshal_per_numpy_number``)."""
    kind = schema["kind"]
    if kind in ("float", "int", "bool"):
        return 1 if "np" in schema else 0
    if kind in ("none", "ndarray"):
        return 0
    return sum(numpy_scalars(s) for s in schema["items"])


def leaf_names(schema: Schema, prefix: str) -> list[str]:
    """A name for every number of the flat vector, e.g. ``x``, ``pos[0]``, ``state['v']``, ``u[1,2]``."""
    kind = schema["kind"]
    if kind in ("float", "int", "bool"):
        return [prefix]
    if kind == "none":
        return []
    if kind == "ndarray":
        shape = schema["shape"]
        if not shape:
            return [prefix]
        names = []
        idx = [0] * len(shape)
        for _ in range(width(schema)):
            names.append(f"{prefix}[{','.join(map(str, idx))}]")
            for ax in range(len(shape) - 1, -1, -1):
                idx[ax] += 1
                if idx[ax] < shape[ax]:
                    break
                idx[ax] = 0
        return names
    if kind == "dict":
        out = []
        for k, s in zip(schema["keys"], schema["items"]):
            out += leaf_names(s, f"{prefix}[{k!r}]")
        return out
    out = []
    for i, s in enumerate(schema["items"]):
        out += leaf_names(s, f"{prefix}[{i}]")
    return out


def flatten(value: Any, schema: Schema, out: list) -> None:
    """Append the numbers of ``value`` to ``out``; raise :class:`Unflattenable` when it does not fit ``schema``."""
    kind = schema["kind"]
    if kind in ("float", "int", "bool"):
        if isinstance(value, (str, bytes)) or not isinstance(value, numbers.Number) and not (
                _np is not None and isinstance(value, _np.generic)):
            raise Unflattenable(f"expected a number, got {type(value).__name__}")
        out.append(float(value))
    elif kind == "none":
        if value is not None:
            raise Unflattenable(f"expected None, got {type(value).__name__}")
    elif kind == "ndarray":
        if _np is None or not isinstance(value, _np.ndarray) or list(value.shape) != schema["shape"]:
            got = list(value.shape) if _np is not None and isinstance(value, _np.ndarray) else type(value).__name__
            raise Unflattenable(f"expected an array of shape {schema['shape']}, got {got}")
        out.extend(value.astype(float, copy=False).ravel().tolist())
    elif kind == "dict":
        if not isinstance(value, dict) or list(value) != schema["keys"]:
            raise Unflattenable("dict keys changed between calls")
        for k, s in zip(schema["keys"], schema["items"]):
            flatten(value[k], s, out)
    else:
        if not isinstance(value, (tuple, list)) or len(value) != len(schema["items"]):
            raise Unflattenable(f"expected a {kind} of {len(schema['items'])}, got "
                                f"{type(value).__name__} of {len(value) if hasattr(value, '__len__') else '?'}")
        for v, s in zip(value, schema["items"]):
            flatten(v, s, out)


def unflatten(values: list, schema: Schema, pos: int = 0) -> tuple[Any, int]:
    """Rebuild a value of ``schema`` from ``values[pos:]``; returns the value and the next position."""
    kind = schema["kind"]
    if kind == "float":
        v = values[pos]
        return (_np.dtype(schema["np"]).type(v) if "np" in schema else float(v)), pos + 1
    if kind == "int":
        v = int(round(values[pos]))
        return (_np.dtype(schema["np"]).type(v) if "np" in schema else v), pos + 1
    if kind == "bool":
        v = values[pos] > 0.5
        return (_np.bool_(v) if "np" in schema else bool(v)), pos + 1
    if kind == "none":
        return None, pos
    if kind == "ndarray":
        n = width(schema)
        arr = _np.asarray(values[pos:pos + n], dtype=float).reshape(schema["shape"])
        if _np.dtype(schema["dtype"]).kind in "biu":
            arr = _np.rint(arr)
        return arr.astype(schema["dtype"]), pos + n
    items = []
    for s in schema["items"]:
        v, pos = unflatten(values, s, pos)
        items.append(v)
    if kind == "dict":
        return dict(zip(schema["keys"], items)), pos
    return (tuple(items) if kind == "tuple" else items), pos


def compile_flattener(schemas: list[Schema]) -> Callable[[list], list]:
    """A fast flattener for a list of values with these schemas (all scalars: one ``float()`` per value)."""
    if all(s["kind"] in ("float", "int", "bool") for s in schemas):
        return lambda values: [float(v) for v in values]

    def flat(values: list) -> list:
        out: list = []
        for v, s in zip(values, schemas):
            flatten(v, s, out)
        return out

    return flat


def compile_unflattener(schema: Schema) -> Callable[[list], Any]:
    """A fast rebuilder for results of this schema (a tuple of plain floats is the common case)."""
    if schema["kind"] == "float" and "np" not in schema:
        return lambda values: float(values[0])
    if schema["kind"] == "float" and _np is not None:
        scalar = _np.dtype(schema["np"]).type
        return lambda values: scalar(values[0])
    if schema["kind"] == "tuple" and all(s["kind"] == "float" and "np" not in s for s in schema["items"]):
        return tuple
    return lambda values: unflatten(values, schema)[0]
