"""The part of ``bench`` that runs *inside* the user's program (loaded by the hook's ``sitecustomize``, see
:mod:`phasm_perf.core.hook`).

One spec (JSON) says which function and what to do with it:

- ``capture``:   call the original, time it, and keep a uniform sample (reservoir, seeded) of its flattened
                 arguments and results within the sample budget;
- ``surrogate``: answer every call with the surrogate (loaded before the program starts, so the load is
                 reported apart from the program's time, then ``gc.freeze()``: torch's hundreds of thousands of
                 objects would otherwise be scanned by every full garbage collection of the program, which made a
                 900-row batch 10x slower); ``batch_point`` calls go through it as one batch unless ``single``;
- ``baseline``:  touch nothing; only time the program the same way, so the two runs compare like for like.

How the function is found and swapped (a trampoline in its code object, at its definition): see
:mod:`phasm_perf.core.hook.trampoline`.
"""

from __future__ import annotations

import atexit
import gc
import json
import os
import random
import threading
import time

from ..core.hook.trampoline import FunctionHook
from .flatten import Unflattenable, compile_flattener, compile_unflattener, flatten, schema_of, width

class Runtime(FunctionHook):
    def __init__(self, spec: dict) -> None:
        super().__init__(spec)
        self.mode = spec["mode"]
        self.fallback_calls = 0
        self.fallback_reason = None
        self.fseconds = 0.0
        self.depth = 0
        self.batch_sizes: dict[int, int] = {}
        self.errors: list[str] = []
        # capture
        self.budget = int(spec.get("budget", 0))
        self.rng = random.Random(spec.get("seed", 0))
        self.params: list[dict] | None = None
        self.result_schema = None
        self.result_error = None
        self.samples: list = []
        self.model = None
        self.setup_seconds = 0.0
        self.t0 = self.t_end = None

    def handlers(self, orig, sig):
        names, values = self.binder(sig)
        if self.mode == "capture":
            return self._capture_handlers(orig, names, values)
        return self._surrogate_handlers(orig, names, values)

    def _capture_handlers(self, orig, names, values):
        perf = time.perf_counter
        if self.params is None:
            self.params = [{"name": n, "schema": None, "skipped": None} for n in names]

        def call(args, kwargs):
            self.calls += 1
            keep = -1
            if self.depth == 0:
                if len(self.samples) < self.budget:
                    keep = len(self.samples)
                    self.samples.append(None)
                elif self.budget:
                    j = self.rng.randrange(self.calls)
                    keep = j if j < self.budget else -1
            self.depth += 1
            t = perf()
            try:
                result = orig(*args, **kwargs)
            finally:
                dt = perf() - t
                self.depth -= 1
            if self.depth == 0:
                self.fseconds += dt
            if keep >= 0:
                self.samples[keep] = self.record(values(args, kwargs), result)
            return result

        def batch(self_, calls):
            self.batch_sizes[len(calls)] = self.batch_sizes.get(len(calls), 0) + 1
            return [call((self_, *c) if self_ is not None else c, {}) for c in calls]

        return call, batch

    def record(self, vals, result):
        row = []
        for p, v in zip(self.params, vals):
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
        res = None
        if self.result_error is None:
            try:
                if self.result_schema is None:
                    self.result_schema = schema_of(result, "the result")
                res = []
                flatten(result, self.result_schema, res)
            except Unflattenable as exc:
                self.result_error = str(exc) if not res and self.result_schema is None else \
                    f"the result's structure changed between calls ({exc})"
                res = None
        return row, res

    def _surrogate_handlers(self, orig, names, values):
        from .marshal import result_converter, rows_to_tensor  # numpy: only in surrogate runs (capture needs none)

        meta = self.meta
        wanted = meta["inputs"]  # [{"name":..., "schema":...}] in the order the surrogate reads them
        index = {n: i for i, n in enumerate(names)}
        missing = [w["name"] for w in wanted if w["name"] not in index]
        if missing:
            raise RuntimeError(f"phasm-perf: the surrogate needs argument(s) {missing} that the function lacks")
        idx = [index[w["name"]] for w in wanted]
        flat = compile_flattener([w["schema"] for w in wanted])
        n_in = sum(width(w["schema"]) for w in wanted)
        unflat = compile_unflattener(meta["result_schema"])
        torch = self.torch
        model = self.model
        dtype = self.dtype
        device = self.device
        perf = time.perf_counter
        single = bool(self.spec.get("single"))

        def pick(args, kwargs):
            v = values(args, kwargs)
            return [v[i] for i in idx]

        np_dtype = {torch.float32: "float32", torch.float64: "float64"}.get(dtype)
        local = threading.local()  # one input buffer per thread and batch size
        # a batch of calls whose arguments are all scalars, all read in order, goes to numpy in one conversion
        direct = np_dtype is not None and idx == list(range(len(names))) and \
            all(w["schema"]["kind"] in ("float", "int", "bool") for w in wanted)
        unflat_all = result_converter(meta["result_schema"], unflat)

        def forward(rows):
            """The surrogate's output tensor for ``rows`` (lists or tuples of numbers)."""
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

        n_names = len(names)

        def call(args, kwargs):
            t = perf()
            self.calls += 1
            try:
                if direct and not kwargs and len(args) == n_names:
                    y = forward((args,))  # the arguments as they are: one numpy conversion
                else:
                    y = forward([flat(pick(args, kwargs))])
            except (Unflattenable, TypeError, ValueError) as exc:
                self.fallback_calls += 1
                self.fallback_reason = self.fallback_reason or str(exc)
                r = orig(*args, **kwargs)
            else:
                r = unflat(y.tolist()[0])
            self.fseconds += perf() - t
            return r

        def batch(self_, calls):
            if self_ is not None:
                calls = [(self_, *c) for c in calls]
            if single or not calls:
                self.batch_sizes[1] = self.batch_sizes.get(1, 0) + len(calls)
                return [call(c, {}) for c in calls]
            t = perf()
            y = None
            if direct:
                try:
                    y = forward(calls)
                except (TypeError, ValueError):
                    y = None
            if y is None:
                try:
                    rows = [flat(pick(c, {})) for c in calls]
                except (Unflattenable, TypeError, ValueError):
                    return [call(c, {}) for c in calls]
                y = forward(rows)
            self.calls += len(calls)
            self.batch_sizes[len(calls)] = self.batch_sizes.get(len(calls), 0) + 1
            out = unflat_all(y)
            self.fseconds += perf() - t
            return out

        return call, batch

    # ---- set-up and the report at exit ------------------------------------------------------------------
    def load_surrogate(self) -> None:
        import torch

        torch.set_num_threads(int(self.spec.get("threads") or 1))
        device = self.spec.get("device") or "cpu"
        from .train import load, runtime_module

        saved, self.meta = load(self.spec["surrogate"], device)
        model = runtime_module(saved, self.meta, self.spec.get("runtime", "eager"))
        self.torch = torch
        self.device = device
        self.dtype = getattr(torch, self.meta.get("dtype", "float32"))
        self.model = model
        n_in = sum(width(w["schema"]) for w in self.meta["inputs"])
        with torch.inference_mode():
            for _ in range(3):  # warm-up: the first calls of a module allocate and pick kernels
                model(torch.zeros(1, n_in, dtype=self.dtype, device=device))
        torch.set_grad_enabled(False)
        if self.spec.get("gc_freeze", True):
            gc.freeze()  # torch's own objects: the program's garbage collections need not scan them

    def dump(self) -> None:
        self.t_end = time.perf_counter()
        self.stop_watch()
        out = {
            "pid": os.getpid(),
            "mode": self.mode,
            "status": self.status(),
            "swap": self.swap_how,
            "swapped_objects": self.swapped,
            "first_call_original": self.first_call_original,
            "calls": self.calls,
            "fallback_calls": self.fallback_calls,
            "fallback_reason": self.fallback_reason,
            "function_seconds": self.fseconds,
            "program_seconds": self.t_end - self.t0 if self.t0 is not None else None,
            "setup_seconds": self.setup_seconds,
            "batch_sizes": {str(k): v for k, v in sorted(self.batch_sizes.items())},
            "errors": self.errors,
        }
        if self.mode == "capture":
            params = self.params or []
            keep = [i for i, p in enumerate(params) if not p["skipped"] and p["schema"] is not None]
            rows = [r for r in self.samples if r is not None and r[1] is not None]
            out["params"] = [{"name": p["name"], "schema": p["schema"], "skipped": p["skipped"]} for p in params]
            out["result_schema"] = self.result_schema
            out["result_error"] = self.result_error
            if self.result_error is None:
                out["X"] = [[v for i in keep for v in r[0][i]] for r in rows]
                out["Y"] = [r[1] for r in rows]
            else:
                out["X"], out["Y"] = [], []
        path = self.spec["out"]
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(out, fh)
        os.replace(tmp, path)


def install(spec: dict) -> Runtime:
    """Called by the hook's ``sitecustomize`` with the run's spec."""
    rt = Runtime(spec)
    t = time.perf_counter()
    if rt.mode == "surrogate":
        rt.load_surrogate()
    rt.setup_seconds = time.perf_counter() - t
    atexit.register(rt.dump)
    if rt.mode != "baseline":
        rt.start_watch()
    rt.t0 = time.perf_counter()
    return rt
