"""Capture a function's inputs and outputs from real calls of the program (``MODULE:QUALNAME``).

The capture run loads :mod:`._runtime` through the bench ``sitecustomize``: the function is swapped at definition
time for a trampoline that calls the original, times it, and keeps a uniform sample of its flattened arguments
and results (reservoir sampling, seeded, within ``budget``). Arguments that are not numbers are reported by name
with the reason and left out of the surrogate's inputs; a result that is not numeric is an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..collect.program import Target
from ..core.errors import PhasmError
from ..core.hook.function import FunctionRef, parse_function as _parse_function
from .flatten import leaf_names, numpy_scalars as _numpy_scalars, width
from .runs import run_program, seconds_per_timed_call


@dataclass
class Capture:
    function: FunctionRef
    calls: int
    X: np.ndarray
    Y: np.ndarray
    input_names: list[str]
    output_names: list[str]
    inputs: list[dict]  # [{"name", "root", "schema", "width"}]: the variables the surrogate reads, in order
    skipped: list[dict]  # [{"name", "reason"}]: inputs left out
    result_schema: dict
    function_seconds: float
    seconds_per_call: float
    program_seconds: float
    wall_seconds: float
    budget: int
    swap: str | None
    first_call_original: bool
    batch_sizes: dict[int, int] = field(default_factory=dict)
    stdout: str = ""
    outputs: list[dict] = field(default_factory=list)  # [{"name", "root", "schema", "width"}]: what it writes

    @property
    def numpy_scalars(self) -> int:
        """How many of the flat inputs and outputs the program passes as numpy scalars."""
        return sum(_numpy_scalars(i["schema"]) for i in self.inputs + self.outputs)

    @property
    def constant_inputs(self) -> list[str]:
        """Inputs that do not change over the sample: a spread (standard deviation) within :data:`CONSTANT_RTOL` of
        the input's size (so 0.1 + 2e-17 still counts as constant; an exact 0 as well)."""
        if len(self.X) < 2:
            return []
        scale = np.maximum(np.abs(self.X).max(axis=0), np.finfo(float).tiny)
        return [n for n, s, m in zip(self.input_names, self.X.std(axis=0), scale) if s <= CONSTANT_RTOL * m]


#: relative spread under which an input counts as constant (bench's notes say which inputs, and this tolerance)
CONSTANT_RTOL = 1e-9


def parse_function(spec: str, target: Target) -> FunctionRef:
    """Check ``MODULE:QUALNAME`` against the program before running it (a quick, static look)."""
    return _parse_function(spec, target.program, target.argv[0])


def capture(target: Target, fn: FunctionRef, *, budget: int = 4096, seed: int = 0, min_samples: int = 64,
            cwd: str | None = None, timeout: float | None = None, variables: dict | None = None) -> Capture:
    """Run the program once, capture up to ``budget`` calls of ``fn``, and check there is something to train on.

    ``variables`` (``{"inputs": [...], "outputs": [...]}``, see :mod:`.plan`) says what to read before each call
    and after it; without it, the arguments and the return value."""
    spec = dict(fn.spec(), mode="capture", budget=budget, seed=seed)
    if variables:
        spec["variables"] = variables
    run = run_program(target, spec, cwd=cwd, timeout=timeout)
    r = run.report
    _check_status(r.get("status", ""), fn)
    if r.get("result_error"):
        what = "returns" if r["result_error"].startswith("the result") else "writes"
        raise PhasmError(f"{fn.display} {what} something that is not numeric ({r['result_error']}); "
                         "a surrogate needs numbers out")
    params = r.get("params") or []
    inputs = [p for p in params if not p["skipped"] and p["schema"] is not None]
    skipped = [{"name": p["name"], "reason": p["skipped"]} for p in params if p["skipped"]]
    if not inputs or sum(width(p["schema"]) for p in inputs) == 0:
        why = "; ".join(f"{s['name']}: {s['reason']}" if s["name"] not in s["reason"] else s["reason"]
                        for s in skipped) or "it takes no arguments"
        raise PhasmError(f"{fn.display} has no numeric inputs ({why}); a surrogate needs numbers in")
    X = np.asarray(r["X"], dtype=np.float64).reshape(len(r["X"]), -1)
    Y = np.asarray(r["Y"], dtype=np.float64).reshape(len(r["Y"]), -1)
    if Y.shape[1] == 0:
        raise PhasmError(f"{fn.display} returns nothing numeric (None); a surrogate needs numbers out")
    calls = int(r["calls"])
    if len(X) < min_samples:
        raise PhasmError(f"too few samples to train: {fn.display} was called {calls} time(s), {len(X)} captured; "
                         f"need at least {min_samples} (give the program more work, or lower --min-samples)")
    per_call = seconds_per_timed_call(r)
    input_names = [n for p in inputs for n in leaf_names(p["schema"], p["name"])]
    outputs = [dict(o, width=width(o["schema"])) for o in r.get("outputs") or []]
    output_names = [n for o in outputs for n in _output_names(o)]
    return Capture(
        function=fn, calls=calls, X=X, Y=Y, input_names=input_names, output_names=output_names, outputs=outputs,
        inputs=[{"name": p["name"], "root": p.get("root", "arg"), "schema": p["schema"], "width": width(p["schema"])}
                for p in inputs],
        skipped=skipped, result_schema=r["result_schema"], function_seconds=per_call * calls,
        seconds_per_call=per_call, program_seconds=run.program_seconds, wall_seconds=run.wall_seconds,
        budget=budget, swap=r.get("swap"), first_call_original=bool(r.get("first_call_original")),
        batch_sizes={int(k): int(v) for k, v in (r.get("batch_sizes") or {}).items()}, stdout=run.stdout)


def _output_names(o: dict) -> list[str]:
    if o["root"] != "return":
        return leaf_names(o["schema"], o["name"])
    return ["out"] if o["schema"]["kind"] == "float" else leaf_names(o["schema"], "out")


def _check_status(status: str, fn: FunctionRef) -> None:
    if status == "called":
        return
    if status == "module_not_imported":
        raise PhasmError(f"module {fn.module!r} was never imported by the program, so {fn.display} never ran "
                         "(check the module name: the script's own functions are SCRIPT_NAME:FUNCTION)")
    if status == "function_not_found":
        raise PhasmError(f"unknown function: module {fn.module!r} has no {fn.qualname!r}")
    if status.startswith("not_a_python_function"):
        kind = status.split(":", 1)[1]
        raise PhasmError(f"{fn.display} is a {kind}, not a Python function: bench can only swap Python functions")
    if status == "never_called":
        raise PhasmError(f"{fn.display} was never called during the run: nothing to capture "
                         "(does this input reach it? check the program's arguments)")
    raise PhasmError(f"capturing {fn.display} failed: the hook reported {status or 'nothing'}")
