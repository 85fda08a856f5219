"""The part of ``bench`` that runs *inside* the user's program (loaded by ``_sitehook/sitecustomize.py``).

One spec (JSON, path in ``$PHASM_PERF_BENCH_SPEC``) says which function and what to do with it:

- ``capture``:   call the original, time it, and keep a uniform sample (reservoir, seeded) of its flattened
                 arguments and results within the sample budget;
- ``surrogate``: answer every call with the surrogate (loaded before the program starts, so the load is
                 reported apart from the program's time, then ``gc.freeze()``: torch's hundreds of thousands of
                 objects would otherwise be scanned by every full garbage collection of the program, which made a
                 900-row batch 10x slower); ``batch_point`` calls go through it as one batch unless ``single``;
- ``baseline``:  touch nothing; only time the program the same way, so the two runs compare like for like.

How the function is swapped, robustly, including for functions defined in the script itself (``__main__``, which
no import hook ever sees): a trace function (``sys.settrace``) watches only the ``<module>`` frame of the target
module, line by line; right after the ``def`` (or the ``class``) has bound the name, the function object's
``__code__`` is replaced by a small trampoline that calls phasm-perf's handler, and tracing is switched off for
good: from then on the program runs at full speed. Replacing ``__code__`` rather than the module attribute keeps
the function's identity, so every reference to it (``from mod import f``, a dispatch table, a callback, a bound
method) reaches the trampoline. A function that the module does not bind by name (a nested ``def``) is caught at
its first call instead, and that one call runs the original (reported as ``first_call_original``).
"""

from __future__ import annotations

import atexit
import gc
import inspect
import json
import os
import random
import sys
import threading
import time
import types

from ..model.spec import TORCH_DTYPES, parse_dtype
from .batching import BATCH_ATTR
from .flatten import Unflattenable, compile_flattener, compile_unflattener, flatten, schema_of, width

SPEC_ENV = "PHASM_PERF_BENCH_SPEC"
_counter = [0]


def _code_qualname(code: types.CodeType) -> str:
    return getattr(code, "co_qualname", code.co_name)


def _same_file(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return False
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


class Runtime:
    def __init__(self, spec: dict) -> None:
        self.spec = spec
        self.mode = spec["mode"]
        self.module = spec["module"]
        self.qualname = spec["qualname"]
        self.script = spec.get("script")
        self.last = self.qualname.rsplit(".", 1)[-1]
        self.swapped = 0
        self.swap_how = None
        self.first_call_original = False
        self.calls = 0
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

    # ---- finding and swapping the function --------------------------------------------------------------
    def module_matches(self, g: dict) -> bool:
        name = g.get("__name__")
        if name == self.module:
            return True
        return bool(self.script) and name == "__main__" and _same_file(g.get("__file__"), self.script)

    def resolve(self, g: dict):
        if "<locals>" in self.qualname:
            return None
        parts = self.qualname.split(".")
        obj = g.get(parts[0])
        for p in parts[1:]:
            if obj is None:
                return None
            raw = getattr(obj, "__dict__", {}).get(p)
            obj = raw if raw is not None else getattr(obj, p, None)
        return obj

    def unwrap(self, obj):
        for _ in range(20):
            if isinstance(obj, (staticmethod, classmethod)) or inspect.ismethod(obj):
                obj = obj.__func__
            elif isinstance(obj, types.FunctionType) and _code_qualname(obj.__code__) == self.qualname:
                return obj
            elif hasattr(obj, "__wrapped__"):
                obj = obj.__wrapped__
            else:
                return None
        return None

    def start_watch(self) -> None:
        sys.settrace(self._global_trace)
        threading.settrace(self._global_trace)

    def stop_watch(self) -> None:
        sys.settrace(None)
        threading.settrace(None)

    def _global_trace(self, frame, event, arg):
        if self.swapped:
            return None
        code = frame.f_code
        if code.co_name == "<module>":
            return self._module_trace if self.module_matches(frame.f_globals) else None
        if code.co_name == self.last and _code_qualname(code) == self.qualname and self.module_matches(frame.f_globals):
            funcs = [o for o in gc.get_referrers(code) if isinstance(o, types.FunctionType) and o.__code__ is code]
            for f in funcs:
                self.swap(f, "first call")
            if funcs:
                self.first_call_original = True
                self.calls += 1
                self.stop_watch()
        return None

    def _module_trace(self, frame, event, arg):
        if self.swapped:
            return None
        f = self.unwrap(self.resolve(frame.f_globals))
        if f is not None:
            self.swap(f, "definition")
            self.stop_watch()
            return None
        return self._module_trace

    def swap(self, func: types.FunctionType, how: str) -> None:
        code = func.__code__
        orig = types.FunctionType(code, func.__globals__, func.__name__, func.__defaults__, func.__closure__)
        orig.__kwdefaults__ = func.__kwdefaults__
        orig.__qualname__ = func.__qualname__
        sig = inspect.signature(orig)
        handler, batch = self.handlers(orig, sig)
        _counter[0] += 1
        gname = f"__phasm_perf_bench_{_counter[0]}__"
        func.__globals__[gname] = handler
        nfree = len(code.co_freevars)
        src = ["def _outer():"] + [f"    _phasm_fv{i} = None" for i in range(nfree)]
        src += [f"    def {code.co_name}(*args, **kwargs):"]
        if nfree:
            src += ["        " + ", ".join(f"_phasm_fv{i}" for i in range(nfree))]
        src += [f"        return {gname}(args, kwargs)", f"    return {code.co_name}"]
        ns: dict = {}
        exec("\n".join(src), {}, ns)  # noqa: S102 - fixed source, no user text
        tramp = ns["_outer"]().__code__
        tramp = tramp.replace(co_filename=code.co_filename, co_firstlineno=code.co_firstlineno)
        func.__code__ = tramp
        func.__signature__ = sig
        setattr(func, BATCH_ATTR, batch)
        self.swapped += 1
        self.swap_how = how

    # ---- arguments ---------------------------------------------------------------------------------------
    def binder(self, sig: inspect.Signature):
        names = list(sig.parameters)
        simple = all(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in sig.parameters.values())
        n = len(names)

        def values(args, kwargs):
            if simple and not kwargs and len(args) == n:
                return args
            ba = sig.bind(*args, **kwargs)
            ba.apply_defaults()
            return [ba.arguments[k] for k in names]

        return names, values

    def handlers(self, orig, sig):
        names, values = self.binder(sig)
        if self.mode == "capture":
            return self._capture_handlers(orig, names, values)
        if self.mode == "synthetic":  # search --synthetic: the original on sampled inputs (see ._synthetic)
            from ._synthetic import handlers

            return handlers(self, orig, names, values)
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
        from ..core.marshal import result_converter, rows_to_tensor  # numpy: only in surrogate runs (capture needs none)

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
        self.dtype = getattr(torch, TORCH_DTYPES[parse_dtype(self.meta.get("dtype", "fp32"))])
        self.model = model
        n_in = sum(width(w["schema"]) for w in self.meta["inputs"])
        with torch.inference_mode():
            for _ in range(3):  # warm-up: the first calls of a module allocate and pick kernels
                model(torch.zeros(1, n_in, dtype=self.dtype, device=device))
        torch.set_grad_enabled(False)
        if self.spec.get("gc_freeze", True):
            gc.freeze()  # torch's own objects: the program's garbage collections need not scan them

    def status(self) -> str:
        if self.swapped:
            return "called" if self.calls else "never_called"
        main = sys.modules.get("__main__")
        mod = sys.modules.get(self.module)
        if mod is None and main is not None and self.script and _same_file(getattr(main, "__file__", None),
                                                                             self.script):
            mod = main
        if mod is None:
            return "module_not_imported"
        obj = self.resolve(vars(mod))
        if obj is None:
            return "function_not_found"
        if self.unwrap(obj) is None:
            return f"not_a_python_function:{type(obj).__name__}"
        return "never_called"

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
        if self.mode == "synthetic":
            out["synthetic"] = getattr(self, "synthetic", None)
        path = self.spec["out"]
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(out, fh)
        os.replace(tmp, path)


def install() -> Runtime | None:
    path = os.environ.pop(SPEC_ENV, None)  # not inherited by the program's own subprocesses
    if not path:
        return None
    with open(path, encoding="utf-8") as fh:
        spec = json.load(fh)
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
