"""After an observed call, inside the program: the written variables as outputs (whole lists, the elements of an
array written at a few places), values as flat numbers for the comparison of consecutive calls, the aggregate's
JSON."""

from __future__ import annotations

from ._batch import MAX_FLAT
from ._call import Ref
from .values import Desc, describe, is_array


def var_json(v: dict, counters: set) -> dict:
    return {"name": v["name"], "kind": v["kind"], "in_signature": v["in_signature"],
            "in": v["in"].to_json() if v["in"].calls else None, "out": v["out"].to_json() if v["out"].calls else None,
            "counter": v["delta"] if v["name"] in counters else None}


def whole_lists(written: dict) -> None:
    """A list whose every item was written is written whole (``out``, not ``out[0]`` and ``out[1]``)."""
    parents: dict = {}
    for ref, _, _ in written.values():
        if ref.steps and ref.steps[-1][0] == "item" and isinstance(ref.steps[-1][1], int):
            parent = ref._replace(steps=ref.steps[:-1])
            parents.setdefault(parent.name, (parent, set()))[1].add(ref.steps[-1][1])
    for name, (parent, items) in parents.items():
        value = parent.value()
        if name not in written and isinstance(value, list) and items == set(range(len(value))):
            d = describe(value)
            if isinstance(d, Desc):
                written[name] = (parent, d, None)


def elements(ref: Ref, d: Desc, detail):
    """The elements of an array written at a few places (``detail``: their flat positions)."""
    if not isinstance(detail, set) or not d.shape or d.data is None:
        return []
    out = []
    for p in sorted(detail):
        key = p if len(d.shape) == 1 else tuple(unravel(p, d.shape))
        value = float(d.data[p])
        out.append((ref.plus(("item", key)), Desc(d.dtype, [], 1, d.itemsize, value)))
    return out


def unravel(p: int, shape: list[int]) -> list[int]:
    idx = []
    for n in reversed(shape):
        idx.append(p % n)
        p //= n
    return idx[::-1]


def flat(descs: dict) -> dict:
    return {n: (d.data if is_array(d.data) else d.flat()) for n, d in descs.items()
            if d.data is not None and d.size <= MAX_FLAT}
