"""Bench's capture inside the program: a uniform sample of the function's inputs (read before each call) and
outputs (read after it), flattened into numbers (see :mod:`.flatten`).

The inputs and outputs are the variables ``phasm-perf vars`` discovered (``spec["variables"]``: arguments and
their elements, attributes, globals, closure variables; arrays written in place, the return value), or, without
them, the arguments and the return value.
"""

from __future__ import annotations

import time

from .flatten import Unflattenable, flatten, schema_of
from .variables import getter


def variables(spec: dict, names: list[str]) -> tuple[list[dict], list[dict]]:
    found = spec.get("variables")
    if not found:
        return [{"name": n, "root": "arg"} for n in names], [{"name": "return", "root": "return"}]
    return list(found["inputs"]), list(found["outputs"])


def capture_handlers(rt, orig, names, values):
    """``(call, batch)`` for the capture mode of :class:`~phasm_perf.bench._runtime.Runtime` ``rt``."""
    perf = time.perf_counter
    ins, outs = variables(rt.spec, names)
    if rt.params is None:
        rt.params = [dict(i, schema=None, skipped=None) for i in ins]
        rt.outputs = [dict(o, schema=None) for o in outs]
    gets = []
    for p in rt.params:
        try:
            gets.append(getter(p, names, orig))
        except RuntimeError as exc:
            p["skipped"] = str(exc)
            gets.append(None)
    out_gets = [None if o["root"] == "return" else getter(o, names, orig) for o in rt.outputs]

    def call(args, kwargs):
        rt.calls += 1
        keep = -1
        if rt.depth == 0:
            if len(rt.samples) < rt.budget:
                keep = len(rt.samples)
                rt.samples.append(None)
            elif rt.budget:
                j = rt.rng.randrange(rt.calls)
                keep = j if j < rt.budget else -1
        if keep >= 0:
            vals = values(args, kwargs)
            row = record_inputs(rt, [g(vals) if g is not None else None for g in gets])
        rt.depth += 1
        t = perf()
        try:
            result = orig(*args, **kwargs)
        finally:
            dt = perf() - t
            rt.depth -= 1
        if rt.depth == 0:
            rt.fseconds += dt
        if keep >= 0:
            rt.samples[keep] = (row, record_outputs(rt, [result if g is None else g(vals) for g in out_gets]))
        return result

    def batch(self_, calls):
        rt.batch_sizes[len(calls)] = rt.batch_sizes.get(len(calls), 0) + 1
        return [call((self_, *c) if self_ is not None else c, {}) for c in calls]

    return call, batch


def record_inputs(rt, vals: list) -> list:
    row = []
    for p, v in zip(rt.params, vals):
        if p["skipped"]:
            row.append(None)
            continue
        try:
            if p["schema"] is None:
                p["schema"] = schema_of(v, p["name"])
            out: list = []
            flatten(v, p["schema"], out)
            row.append(out)
        except Unflattenable as exc:
            p["skipped"] = str(exc) if p["schema"] is None else f"its structure changed between calls ({exc})"
            row.append(None)
    return row


def record_outputs(rt, vals: list) -> list | None:
    """The outputs' numbers, or None (and the reason kept) when one of them is not numbers."""
    if rt.result_error is not None:
        return None
    res: list = []
    for o, v in zip(rt.outputs, vals):
        what = "the result" if o["root"] == "return" else o["name"]
        try:
            if o["schema"] is None:
                o["schema"] = schema_of(v, what)
            flatten(v, o["schema"], res)
        except Unflattenable as exc:
            rt.result_error = str(exc) if o["schema"] is None else \
                f"{what}'s structure changed between calls ({exc})"
            return None
    return res
