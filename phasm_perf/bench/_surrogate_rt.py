"""Bench's swap inside the program: every call (or every batch of a batch point) answered by the surrogate.

The surrogate's saved schema says what it reads and writes: its ``inputs`` (variables read before the call, in
order), its ``outputs`` (the return value, arrays written in place, attributes, globals) and ``counters`` (a global
or attribute the function steps by a constant: replayed, not predicted). A surrogate that reads only the
function's scalar arguments, in order, and only returns, takes the fast paths (one numpy conversion per batch).
"""

from __future__ import annotations

import threading
import time

from .flatten import Unflattenable, compile_flattener, compile_unflattener, width
from .variables import getter, setter


def _outputs(meta: dict) -> list[dict]:
    if meta.get("outputs"):
        return meta["outputs"]
    return [{"name": "return", "root": "return", "schema": meta["result_schema"]}]


def surrogate_handlers(rt, orig, names, values):
    """``(call, batch)`` for the surrogate mode of :class:`~phasm_perf.bench._runtime.Runtime` ``rt``.

    ``call`` and ``batch`` are the program's hot path: closures over the compiled flatteners, the input buffers and
    the model, set up here once (by the helpers below), rather than looked up on every call."""
    from ..core.marshal import result_converter, rows_to_tensor  # numpy: only in surrogate runs (capture needs none)

    meta = rt.meta
    wanted = [dict(w, root=w.get("root", "arg")) for w in meta["inputs"]]
    gets = [getter(w, names, orig) for w in wanted]
    flat = compile_flattener([w["schema"] for w in wanted])
    n_in = sum(width(w["schema"]) for w in wanted)
    outs = _outputs(meta)
    scatter = _scatter(outs, meta.get("counters") or [], names, orig)
    ret = next((o for o in outs if o["root"] == "return"), {"schema": {"kind": "none"}})
    np_dtype = {rt.torch.float32: "float32", rt.torch.float64: "float64"}.get(rt.dtype)
    direct = scatter is None and np_dtype is not None and _in_order(wanted, names)

    def gather(vals):
        return flat([g(vals) for g in gets])

    unflat = compile_unflattener(ret["schema"])
    forward = _forward(rt, n_in, np_dtype, rows_to_tensor)
    call = _call_handler(rt, orig, values, forward, gather, unflat, scatter, direct, len(names))
    return call, _batch_handler(rt, values, forward, gather, call, result_converter(ret["schema"], unflat), scatter,
                                direct)


def _in_order(wanted: list[dict], names) -> bool:
    """Whether the surrogate reads the function's scalar arguments, all of them, in order: then a batch of calls
    goes to numpy in one conversion."""
    index = {n: i for i, n in enumerate(names)}
    return all(w["root"] == "arg" and w["name"] in index for w in wanted) \
        and [index[w["name"]] for w in wanted] == list(range(len(names))) and \
        all(w["schema"]["kind"] in ("float", "int", "bool") for w in wanted)


def _forward(rt, n_in: int, np_dtype: str | None, rows_to_tensor):
    """``forward(rows)``: the surrogate's output tensor for ``rows`` (lists or tuples of numbers)."""
    torch, model, dtype, device = rt.torch, rt.model, rt.dtype, rt.device
    local = threading.local()  # one input buffer per thread and batch size

    def forward(rows):
        if np_dtype is None:  # no numpy twin (bf16, fp16): build the tensor
            x = torch.tensor(rows, dtype=dtype)
        else:  # one numpy conversion (see .marshal), shared with the tensor
            bufs = getattr(local, "bufs", None)
            if bufs is None:
                bufs = local.bufs = {}
            x = rows_to_tensor(rows, n_in, np_dtype, bufs, torch.from_numpy)
        if device != "cpu":
            x = x.to(device)
        return model(x)

    return forward


def _call_handler(rt, orig, values, forward, gather, unflat, scatter, direct: bool, n_names: int):
    """``call(args, kwargs)``: one call answered by the surrogate (by the original function when its inputs do not
    fit)."""
    perf = time.perf_counter
    simple = scatter is None  # only a return value

    def call(args, kwargs):
        t = perf()
        rt.calls += 1
        vals = None
        try:
            if direct and not kwargs and len(args) == n_names:
                y = forward((args,))  # the arguments as they are: one numpy conversion
            else:
                vals = values(args, kwargs)
                y = forward([gather(vals)])
        except (Unflattenable, TypeError, ValueError) as exc:
            rt.fallback_calls += 1
            rt.fallback_reason = rt.fallback_reason or str(exc)
            r = orig(*args, **kwargs)
        else:
            r = unflat(y.tolist()[0]) if simple else scatter(vals, y.tolist()[0])
        rt.fseconds += perf() - t
        return r

    return call


def _batch_handler(rt, values, forward, gather, call, unflat_all, scatter, direct: bool):
    """``batch(self_, calls)``: a batch of calls answered by one forward (one call at a time in single mode, or
    when their inputs do not fit)."""
    perf = time.perf_counter
    single = bool(rt.spec.get("single"))
    simple = scatter is None

    def batch(self_, calls):
        if self_ is not None:
            calls = [(self_, *c) for c in calls]
        if single or not calls:
            rt.batch_sizes[1] = rt.batch_sizes.get(1, 0) + len(calls)
            return [call(c, {}) for c in calls]
        t = perf()
        y = None
        if direct:
            try:
                y = forward(calls)
            except (TypeError, ValueError):
                y = None
        # each call's parameter values only where they are read (gathered, or written back): binding them costs about
        # 100 ns a call (a fifth of heat_batched's 2,116-row batch, measured), wasted when the calls went in directly
        vals = None if y is not None and simple else [values(c, {}) for c in calls]
        if y is None:
            try:
                rows = [gather(v) for v in vals]
            except (Unflattenable, TypeError, ValueError):
                return [call(c, {}) for c in calls]
            y = forward(rows)
        rt.calls += len(calls)
        rt.batch_sizes[len(calls)] = rt.batch_sizes.get(len(calls), 0) + 1
        out = unflat_all(y) if simple else [scatter(v, row) for v, row in zip(vals, y.tolist())]
        rt.fseconds += perf() - t
        return out

    return batch


def _scatter(outs: list[dict], counters: list[dict], names, orig):
    """``scatter(vals, row)``: write every output from the surrogate's ``row`` and return the return value; None
    when the only output is the return value (the fast paths)."""
    if not counters and all(o["root"] == "return" for o in outs):
        return None
    parts, pos = [], 0
    for o in outs:
        n = width(o["schema"])
        put = None if o["root"] == "return" else setter(o, names, orig)
        parts.append((pos, pos + n, compile_unflattener(o["schema"]), put))
        pos += n
    steps = [(getter(c, names, orig), setter(c, names, orig), c["step"]) for c in counters]

    def scatter(vals, row):
        result = None
        for a, b, unflat, put in parts:
            value = unflat(row[a:b])
            if put is None:
                result = value
            else:
                put(vals, value)
        for get, put, step in steps:
            put(vals, get(vals) + step)
        return result

    return scatter
