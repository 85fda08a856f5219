"""From attributed accesses (:mod:`.regions`) to the report's variables: name, kind, direction, size, range,
constancy; open arrays sized by the trace or listed as unresolved; counters; whether calls depend on each other."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .regions import Found, Seen, decode
from .schema import Batching, Unresolved, Variable


@dataclass
class Resolved:
    """A variable with what bench needs to read and write it (the schema's Variable is the public face)."""

    var: Variable
    region_name: str
    count: int
    counter_step: float | None = None
    path: tuple = ()          # see regions.Region.path; ("value", i, offset) an argument, ("return", offset)
    esize: int = 8


def _values(seen: Seen, attr: str, count: int) -> list[list[float | None]]:
    """Per call, the element values (``before`` or ``after``), None where the call did not touch it."""
    out = []
    for cells in seen.calls.values():
        row = []
        for i in range(count):
            c = cells.get(i)
            blob = getattr(c, attr) if c is not None else None
            row.append(decode(blob, seen.region.dtype) if blob else None)
        out.append(row)
    return out


def _span(rows: list[list[float | None]]) -> tuple[float | None, float | None, bool]:
    vals = [v for r in rows for v in r if v is not None and np.isfinite(v)]
    if not vals:
        return None, None, False
    constant = len(rows) > 1 and all(r == rows[0] for r in rows)
    return min(vals), max(vals), constant


def _open_count(seen: Seen) -> tuple[int | None, str | None]:
    r = seen.region
    if r.dtype == "opaque":
        return None, (f"{r.ctype} points to memory whose type the debug information does not give (an opaque "
                      f"pointer); say what it is, e.g. --input '{r.name}:double[N]'")
    extents = [max(cells) + 1 for cells in seen.calls.values() if cells]
    touched = [len(cells) for cells in seen.calls.values() if cells]
    if len(set(extents)) == 1 and touched == extents:
        return extents[0], None
    what = "input" if any(c.first == "r" for cells in seen.calls.values() for c in cells.values()) else "output"
    if any(t < e for t, e in zip(touched, extents)):
        reason = (f"{r.ctype} with no length in its type: {min(touched)}-{max(touched)} scattered elements of "
                  f"0..{max(extents) - 1} touched per call (data-dependent positions, e.g. a look-up table)")
    else:
        reason = f"{r.ctype} with no length in its type: {min(extents)} to {max(extents)} elements per call"
    return None, f"{reason}; say its length with --{what} '{r.name}:{_ctype_word(r.dtype)}[N]'"


def _ctype_word(dtype: str) -> str:
    return {"float64": "double", "float32": "float", "int32": "int", "int64": "long"}.get(dtype, dtype)


def _direction(seen: Seen) -> str | None:
    cells = [c for cs in seen.calls.values() for c in cs.values()]
    read_first = any(c.first == "r" for c in cells)
    written = any(c.written for c in cells)
    if read_first and written:
        return "inout"
    return "in" if read_first else ("out" if written else None)


def _counter_step(seen: Seen, count: int) -> float | None:
    if count != 1 or not seen.region.dtype.startswith(("int", "uint")):
        return None
    steps = set()
    for cells in seen.calls.values():
        c = cells.get(0)
        if c is None or c.before is None or c.after is None:
            return None
        steps.add(decode(c.after, seen.region.dtype) - decode(c.before, seen.region.dtype))
    return steps.pop() if len(steps) == 1 and 0 not in steps else None


def resolve(found: Found) -> tuple[list[Resolved], list[Resolved], list[Unresolved]]:
    ins: list[Resolved] = []
    outs: list[Resolved] = []
    unresolved: list[Unresolved] = []
    for seen in found.seen.values():
        r = seen.region
        count = r.count
        if count is None:
            count, why = _open_count(seen)
            if count is None:
                unresolved.append(Unresolved(name=r.name, kind=r.kind, type=r.ctype, reason=why or ""))
                continue
        direction = _direction(seen)
        if direction is None:
            continue
        name = r.name if count == 1 and r.count == 1 else f"{r.name}[0:{count}]"
        note = None if r.count is not None else f"length {count} from the trace (the type gives none)"
        if r.forced is not None:
            note = f"length {count} from --{'input' if r.forced.direction == 'in' else 'output'}"
        step = _counter_step(seen, count) if direction == "inout" else None
        if step is not None:
            note = f"counter: incremented by {step:g} in every call (written back as {r.name} += {step:g}, not learned)"
        es = 1 if r.dtype == "bool" else np.dtype(r.dtype).itemsize
        base = dict(name=name, kind=r.kind, dtype=r.dtype, shape=[] if count == 1 else [count], size=count,
                    bytes=count * es, in_signature=r.in_signature, type=r.ctype, note=note)
        if direction in ("in", "inout"):
            lo, hi, const = _span(_values(seen, "before", count))
            ins.append(Resolved(Variable(direction=direction, min=lo, max=hi, constant=const, **base), r.name,
                                count, step, r.path, r.esize))
        if direction in ("out", "inout"):
            lo, hi, const = _span(_values(seen, "after", count))
            outs.append(Resolved(Variable(direction=direction, min=lo, max=hi, constant=const, **base), r.name,
                                 count, step, r.path, r.esize))
    ins = _by_value(found, "args", "argument", "in") + sorted(ins, key=lambda r: _order(found, r))
    outs = sorted(outs, key=lambda r: _order(found, r)) + _by_value(found, "rets", "return", "out")
    return ins, outs, unresolved


_KIND_ORDER = {"argument": 0, "pointer": 1, "reference": 1, "member": 2, "global": 3, "return": 4}


def _order(found: Found, r: Resolved) -> tuple:
    params = [a.name for a in found.ctx.args]
    root = r.region_name.split("->")[0].split(".")[0].split("[")[0]
    return (_KIND_ORDER.get(r.var.kind, 5), params.index(root) if root in params else len(params), r.var.name)


def _by_value(found: Found, attr: str, kind: str, direction: str) -> list[Resolved]:
    per_call = getattr(found, attr)
    if not per_call or not per_call[0]:
        return []
    names = [n for n, _ in per_call[0]]
    types = {a.name: a.type for a in found.ctx.args}
    out = []
    for j, name in enumerate(names):
        rows = [[call[j][1]] for call in per_call if j < len(call)]
        lo, hi, const = _span(rows)
        root = name.split(".")[0].split("[")[0]
        t = types.get(root) if kind == "argument" else found.ctx.fn.returns
        dtype = _leaf_dtype(t, name)
        es = np.dtype(dtype).itemsize if dtype != "bool" else 1
        v = Variable(name=name, kind=kind, direction=direction, dtype=dtype, size=1, bytes=es, min=lo, max=hi,
                     constant=const and direction == "in", in_signature=True, type=t.name if t else None)
        path = ("return", _leaf_offset(t, name)) if kind == "return" else \
            ("value", [a.name for a in found.ctx.args].index(root), _leaf_offset(t, name))
        out.append(Resolved(v, name, 1, path=path, esize=es))
    return out


def _leaf_dtype(t, name: str) -> str:
    if t is None:
        return "float64"
    if t.dtype:
        return t.dtype
    for part in name.split(".")[1:]:
        part = part.split("[")[0]
        m = next((m for m in t.members if m.name == part), None)
        if m is None:
            break
        t = m.type.target if m.type.kind == "array" and m.type.target else m.type
    return t.dtype or "float64"


def _leaf_offset(t, name: str) -> int:
    off = 0
    for part in name.split(".")[1:]:
        idx = int(part.split("[")[1].rstrip("]")) if "[" in part else 0
        m = next((m for m in (t.members if t else []) if m.name == part.split("[")[0]), None)
        if m is None:
            break
        off += m.offset
        t = m.type
        if t.kind == "array" and t.target is not None:
            off += idx * t.target.size
            t = t.target
    if "[" in name and "." not in name and t is not None and t.size:
        off += int(name.split("[")[1].rstrip("]")) * (t.target.size if t.target else t.size)
    return off


def variables(found: Found) -> tuple[list[Variable], list[Variable], list[Unresolved]]:
    ins, outs, unresolved = resolve(found)
    return [r.var for r in ins], [r.var for r in outs], unresolved


def batching(found: Found) -> Batching:
    """Does an output of one traced call come back as an input of the next one (``p = f(p)``)?"""
    chains = []
    ins, outs, _ = resolve(found)
    calls = list(next(iter(found.seen.values())).calls) if found.seen else []
    for o in outs:
        if o.counter_step is not None:
            continue
        so = found.seen.get(o.region_name)
        if so is None:
            continue
        after = _values(so, "after", o.count)
        for i in ins:
            if i.var.constant or i.counter_step is not None or i.count != o.count:
                continue
            si = found.seen.get(i.region_name)
            if si is None:
                continue
            before = _values(si, "before", i.count)
            pairs = [(a, b) for a, b in zip(after[:-1], before[1:]) if None not in a and None not in b]
            if pairs and all(a == b for a, b in pairs):
                chains.append(f"{o.var.name} written by one call is read as {i.var.name} by the next")
    if len(calls) < 2:
        return Batching(note="fewer than two calls traced: not determined")
    if chains:
        return Batching(dependent=True, chains=chains,
                        note="calls depend on each other: batch 1 unless the loop is restructured")
    return Batching(dependent=False, note=f"no output of a traced call was read by the next ({len(calls)} calls)")
