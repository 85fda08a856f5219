"""Capture a function's inputs and outputs from real calls of the program (``MODULE:QUALNAME``).

The capture run loads :mod:`._runtime` through the bench ``sitecustomize``: the function is swapped at definition
time for a trampoline that calls the original, times it, and keeps a uniform sample of its flattened arguments
and results (reservoir sampling, seeded, within ``budget``). Arguments that are not numbers are reported by name
with the reason and left out of the surrogate's inputs; a result that is not numeric is an error.
"""

from __future__ import annotations

import ast
import difflib
import importlib.util
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..collect.program import Target
from ..core.errors import PhasmError
from .flatten import leaf_names, numpy_scalars as _numpy_scalars, width
from .runs import run_program, seconds_per_timed_call


@dataclass(frozen=True)
class FunctionRef:
    """``MODULE:QUALNAME``; ``script`` is set when MODULE is the program's own script (run as ``__main__``)."""

    module: str
    qualname: str
    script: str | None = None

    @property
    def display(self) -> str:
        return f"{self.module}:{self.qualname}"


@dataclass
class Capture:
    function: FunctionRef
    calls: int
    X: np.ndarray
    Y: np.ndarray
    input_names: list[str]
    output_names: list[str]
    inputs: list[dict]  # [{"name", "schema", "width"}]: the arguments the surrogate reads, in order
    skipped: list[dict]  # [{"name", "reason"}]: arguments left out
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

    @property
    def numpy_scalars(self) -> int:
        """How many of the flat inputs and outputs the program passes as numpy scalars."""
        return sum(_numpy_scalars(i["schema"]) for i in self.inputs) + _numpy_scalars(self.result_schema)

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
    if ":" not in spec:
        raise PhasmError(f"--function {spec!r}: give MODULE:QUALNAME, e.g. particles:boris_push "
                         "(the script's own name for functions defined in it)")
    module, qualname = spec.split(":", 1)
    if not module or not qualname or not all(p.isidentifier() for p in module.split(".")) or \
            not all(p.isidentifier() or p == "<locals>" for p in qualname.split(".")):
        raise PhasmError(f"--function {spec!r} is not MODULE:QUALNAME (dotted Python names)")
    script = target.program if target.program and target.program.suffix == ".py" else None
    if script is not None and module == script.stem:
        _check_source(script, qualname, spec)
        return FunctionRef(module, qualname, str(script))
    source = _find_module_source(module, target, script)
    if source is not None:
        _check_source(source, qualname, spec)
    return FunctionRef(module, qualname, None)


def _find_module_source(module: str, target: Target, script: Path | None) -> Path | None:
    """The module's source file, looked up the way the program would (its folder first), when we can."""
    exe = shutil.which(target.argv[0]) or target.argv[0]
    if os.path.realpath(exe) != os.path.realpath(sys.executable):
        return None  # another interpreter: leave it to the run to say whether the module is there
    extra = [str(script.parent)] if script else []
    saved = list(sys.path)
    sys.path[:0] = extra + [os.getcwd()]
    try:
        try:
            found = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            found = None
    finally:
        sys.path[:] = saved
    if found is None:
        where = f" (looked in {extra[0]}, the working directory and the environment)" if extra else ""
        raise PhasmError(f"unknown module {module!r}{where}; for a function of the script itself use "
                         f"{script.stem + ':FUNCTION' if script else 'SCRIPT:FUNCTION'}")
    origin = found.origin
    return Path(origin) if origin and origin.endswith(".py") else None


def _check_source(path: Path, qualname: str, spec: str) -> None:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"), filename=str(path))
    except SyntaxError:
        return  # the run will say what is wrong with it
    if "<locals>" in qualname:
        return
    defs = _definitions(tree.body, "")
    if qualname not in defs:
        close = difflib.get_close_matches(qualname, sorted(defs), n=5, cutoff=0.6)
        top = sorted(d for d in defs if "." not in d)
        listed = (f"the closest: {', '.join(close)}" if close else
                  "it defines: " + (", ".join(top[:12]) + (" ..." if len(top) > 12 else "") or "no functions"))
        raise PhasmError(f"no function {qualname!r} in {path.name} (--function {spec}); {listed}")


def _definitions(body: list, prefix: str) -> set[str]:
    out: set[str] = set()
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            out.add(prefix + node.name)
        elif isinstance(node, ast.ClassDef):
            out.add(prefix + node.name)
            out |= _definitions(node.body, f"{prefix}{node.name}.")
        elif isinstance(node, (ast.If, ast.Try, ast.With)):
            for part in ("body", "orelse", "finalbody", "handlers"):
                for sub in getattr(node, part, []) or []:
                    out |= _definitions([sub] if not isinstance(sub, ast.ExceptHandler) else sub.body, prefix)
    return out


def capture(target: Target, fn: FunctionRef, *, budget: int = 4096, seed: int = 0, min_samples: int = 64,
            cwd: str | None = None, timeout: float | None = None) -> Capture:
    """Run the program once, capture up to ``budget`` calls of ``fn``, and check there is something to train on."""
    spec = {"mode": "capture", "module": fn.module, "qualname": fn.qualname, "script": fn.script,
            "budget": budget, "seed": seed}
    run = run_program(target, spec, cwd=cwd, timeout=timeout)
    r = run.report
    _check_status(r.get("status", ""), fn)
    if r.get("result_error"):
        raise PhasmError(f"{fn.display} returns something that is not numeric ({r['result_error']}); "
                         "a surrogate needs numbers out")
    params = r.get("params") or []
    inputs = [p for p in params if not p["skipped"] and p["schema"] is not None]
    skipped = [{"name": p["name"], "reason": p["skipped"]} for p in params if p["skipped"]]
    if not inputs or sum(width(p["schema"]) for p in inputs) == 0:
        why = "; ".join(s["reason"] for s in skipped) or "it takes no arguments"
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
    output_names = leaf_names(r["result_schema"], "out") if r["result_schema"]["kind"] != "float" else ["out"]
    return Capture(
        function=fn, calls=calls, X=X, Y=Y, input_names=input_names, output_names=output_names,
        inputs=[{"name": p["name"], "schema": p["schema"], "width": width(p["schema"])} for p in inputs],
        skipped=skipped, result_schema=r["result_schema"], function_seconds=per_call * calls,
        seconds_per_call=per_call, program_seconds=run.program_seconds, wall_seconds=run.wall_seconds,
        budget=budget, swap=r.get("swap"), first_call_original=bool(r.get("first_call_original")),
        batch_sizes={int(k): int(v) for k, v in (r.get("batch_sizes") or {}).items()}, stdout=run.stdout)


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
