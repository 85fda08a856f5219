"""The part of ``bench`` that runs *inside* the user's program (loaded by the hook's ``sitecustomize``, see
:mod:`phasm_perf.core.hook`).

One spec (JSON) says which function and what to do with it:

- ``capture``:   call the original, time it, and keep a uniform sample (reservoir, seeded) of its flattened
                 inputs and outputs within the sample budget (:mod:`._capture_rt`);
- ``surrogate``: answer every call with the surrogate (loaded before the program starts, so the load is
                 reported apart from the program's time, then ``gc.freeze()``: torch's hundreds of thousands of
                 objects would otherwise be scanned by every full garbage collection of the program, which made a
                 900-row batch 10x slower); ``batch_point`` calls go through it as one batch unless ``single``
                 (:mod:`._surrogate_rt`);
- ``baseline``:  touch nothing; only time the program the same way, so the two runs compare like for like.

With ``probe_groups`` in a surrogate run's spec, the speed probe's reference forward
(:mod:`phasm_perf.hardware.measure.probe`, the one ``hw measure`` records) is timed in that many groups on the
surrogate's thread before the program starts and again after it ends (outside ``program_seconds``): how fast the
core ran for this very run, against which bench scales its end-to-end prediction (reported apart, as such).

How the function is found and swapped (a trampoline in its code object, at its definition): see
:mod:`phasm_perf.core.hook.trampoline`.
"""

from __future__ import annotations

import atexit
import gc
import json
import os
import random
import time

from ..core.hook.trampoline import FunctionHook
from ..model.spec import TORCH_DTYPES, parse_dtype
from ._capture_rt import capture_handlers
from ._surrogate_rt import surrogate_handlers
from .flatten import width

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
        self.params: list[dict] | None = None  # the inputs: [{"name", "root", "schema", "skipped"}]
        self.outputs: list[dict] = []  # [{"name", "root", "schema"}], the return value's root is "return"
        self.result_error = None
        self.samples: list = []
        self.model = None
        self.setup_seconds = 0.0
        self.t0 = self.t_end = None
        self.probe = None  # the speed probe of a surrogate run (``probe_groups``)

    def handlers(self, orig, sig):
        names, values = self.binder(sig)
        if self.mode == "capture":
            return capture_handlers(self, orig, names, values)
        if self.mode == "synthetic":  # search --synthetic: the original on sampled inputs (see ._synthetic)
            from ._synthetic import handlers

            return handlers(self, orig, names, values)
        return surrogate_handlers(self, orig, names, values)

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

    def sample_speed(self) -> None:
        """Time the speed probe's ``probe_groups`` groups (made on the first call: the reference forward)."""
        if self.probe is None:
            from ..hardware.measure.probe import speed_probe

            self.probe = speed_probe()
        for _ in range(int(self.spec["probe_groups"])):
            self.probe.sample()

    def dump(self) -> None:
        self.t_end = time.perf_counter()
        self.stop_watch()
        if self.probe is not None:
            self.sample_speed()
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
        if self.probe is not None:
            out["speed_probe_seconds"] = self.probe.samples
        if self.mode == "capture":
            params = self.params or []
            keep = [i for i, p in enumerate(params) if not p["skipped"] and p["schema"] is not None]
            rows = [r for r in self.samples if r is not None and r[1] is not None]
            out["params"] = [{"name": p["name"], "root": p["root"], "schema": p["schema"], "skipped": p["skipped"]}
                             for p in params]
            out["outputs"] = [{"name": o["name"], "root": o["root"], "schema": o["schema"]} for o in self.outputs]
            ret = [o["schema"] for o in self.outputs if o["root"] == "return"]
            out["result_schema"] = ret[0] if ret else {"kind": "none"}
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


def install(spec: dict) -> Runtime:
    """Called by the hook's ``sitecustomize`` with the run's spec."""
    rt = Runtime(spec)
    t = time.perf_counter()
    if rt.mode == "surrogate":
        rt.load_surrogate()
    rt.setup_seconds = time.perf_counter() - t
    if rt.mode == "surrogate" and spec.get("probe_groups"):
        rt.sample_speed()
    atexit.register(rt.dump)
    if rt.mode != "baseline":
        rt.start_watch()
    rt.t0 = time.perf_counter()
    return rt
