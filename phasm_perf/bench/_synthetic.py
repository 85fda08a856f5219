"""The part of ``search --synthetic`` that runs *inside* the user's program (mode ``synthetic`` of :mod:`._runtime`).

At the function's first call (so the program has set up whatever the function reads), the original is called on
the synthetic input rows the spec carries, with the first call's other arguments held, and the flattened results
are reported; then the process ends (the rest of the program is not needed). Before any synthetic row, the
function must show it is pure enough for its results to be training data:

- a plain signature (no ``*args``, ``**kwargs``, keyword-only parameters);
- captured calls replayed give back the captured results (it depends on its numeric arguments only: not on
  state, randomness, or an argument phasm-perf does not capture);
- it prints nothing, rebinds no global of its module, and leaves its numeric arguments as it found them.

A function that fails one of these is refused with the reason, and no synthetic data is made.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import os

from .flatten import flatten, unflatten

REPLAY_TOLERANCE = 1e-9


def handlers(rt, orig, names: list[str], values):
    done = [False]

    def call(args, kwargs):
        rt.calls += 1
        if not done[0]:
            done[0] = True
            rt.synthetic = evaluate(rt.spec, orig, names, list(values(args, kwargs)))
            rt.dump()
            os._exit(0)  # the program's remaining work is not needed (its exit handlers are not run)
        return orig(*args, **kwargs)

    def batch(self_, calls):
        return [call((self_, *c) if self_ is not None else c, {}) for c in calls]

    return call, batch


def _plain(orig) -> bool:
    kinds = {p.kind for p in inspect.signature(orig).parameters.values()}
    return kinds <= {inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD}


def _globals_snapshot(g: dict) -> dict:
    return {k: id(v) for k, v in g.items() if not k.startswith("__phasm_perf_bench_")}


def evaluate(spec: dict, orig, names: list[str], base: list) -> dict:
    if not _plain(orig):
        return {"refused": "its signature has *args, **kwargs or keyword-only parameters"}
    inputs, result_schema = spec["inputs"], spec["result_schema"]
    index = {n: i for i, n in enumerate(names)}

    def build(x: list) -> list:
        args, pos = list(base), 0
        for w in inputs:
            v, pos = unflatten(x, w["schema"], pos)
            args[index[w["name"]]] = v
        return args

    def numeric(args: list) -> list:
        out: list = []
        for w in inputs:
            flatten(args[index[w["name"]]], w["schema"], out)
        return out

    printed = io.StringIO()
    before = _globals_snapshot(orig.__globals__)
    X, Y, failed, first_error, worst = [], [], 0, None, 0.0
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        for x, y in spec.get("replay", []):
            got: list = []
            try:
                flatten(orig(*build(x)), result_schema, got)
            except Exception as exc:  # noqa: BLE001 - the user's function, on its own captured inputs
                return {"refused": f"a captured call replayed raised {type(exc).__name__}: {exc}"}
            worst = max([worst] + [abs(a - b) / max(abs(b), 1e-12) for a, b in zip(got, y)])
        if worst > REPLAY_TOLERANCE:
            return {"refused": f"captured calls replayed gave other results (up to {worst:.3g} relative): it "
                               "reads something besides its numeric arguments (state, randomness, or an argument "
                               "that is not captured)", "replay_max_rel": worst}
        for x in spec["rows"]:
            args = build(x)
            seen = numeric(args)
            try:
                result = orig(*args)
                res: list = []
                flatten(result, result_schema, res)
            except Exception as exc:  # noqa: BLE001 - a sampled input the function rejects: that row is dropped
                failed += 1
                first_error = first_error or f"{type(exc).__name__}: {exc}"
                continue
            if numeric(args) != seen:
                return {"refused": "it writes its arguments in place (a surrogate returns results only)",
                        "replay_max_rel": worst}
            X.append(seen)
            Y.append(res)
    if printed.getvalue():
        return {"refused": "it prints (an effect a surrogate does not reproduce)", "replay_max_rel": worst}
    changed = sorted(k for k, v in _globals_snapshot(orig.__globals__).items() if before.get(k) != v)
    if changed:
        return {"refused": f"it rebinds module globals ({', '.join(changed[:5])})", "replay_max_rel": worst}
    return {"X": X, "Y": Y, "failed": failed, "first_error": first_error, "replay_max_rel": worst}
