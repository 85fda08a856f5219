"""Synthetic training data (``search --synthetic N``): N inputs sampled over the ranges the captured calls span,
with outputs from the original function itself, called in the program's own interpreter.

- Sampling: ``lhs`` (a Latin hypercube, scipy's ``qmc.LatinHypercube``: every input's range cut into N strata, one
  sample in each) or ``uniform``; each input over ``[min, max]`` of the captured calls the trials train on (the
  held-back calls are not looked at); inputs constant in every captured call are held at their value; integer and
  boolean inputs are rounded as the program passes them.
- Outputs: one more run of the program with the bench hook in mode ``synthetic``
  (:mod:`phasm_perf.bench._synthetic`): at the function's first call, captured calls are replayed and must give
  their captured results back, then every sampled row is evaluated; a function that prints, writes its arguments,
  rebinds its module's globals or depends on something besides its numeric arguments is refused, with the reason.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..bench.capture import Capture
from ..bench.runs import run_program
from ..collect.program import Target
from ..core.errors import PhasmError

METHODS = ("lhs", "uniform")
REPLAY_ROWS = 8


@dataclass
class Synthetic:
    X: np.ndarray
    Y: np.ndarray
    held_constant: list[str]
    ranges: dict[str, tuple[float, float]]
    replay_max_rel: float | None
    refused: str | None
    failed: int
    seconds: float


def sample(X: np.ndarray, n: int, method: str = "lhs", seed: int = 0) -> tuple[np.ndarray, list[int]]:
    """``n`` rows over the per-column ``[min, max]`` of ``X``; constant columns held. Returns the rows and the
    indices of the held columns."""
    if method not in METHODS:
        raise PhasmError(f"--synthetic-method {method!r}: choose {' or '.join(METHODS)}")
    lo, hi = X.min(axis=0), X.max(axis=0)
    varying = np.flatnonzero(hi > lo)
    rows = np.tile(lo, (n, 1)).astype(np.float64)
    if len(varying):
        if method == "lhs":
            from scipy.stats import qmc

            u = qmc.LatinHypercube(d=len(varying), rng=np.random.default_rng(seed)).random(n)
        else:
            u = np.random.default_rng(seed).random((n, len(varying)))
        rows[:, varying] = lo[varying] + u * (hi[varying] - lo[varying])
    held = [int(i) for i in np.flatnonzero(hi <= lo)]
    return rows, held


def synthesize(target: Target, cap: Capture, X_train: np.ndarray, Y_train: np.ndarray, n: int, method: str = "lhs",
               seed: int = 0, timeout: float | None = None) -> Synthetic:
    """Sample ``n`` inputs over ``X_train``'s ranges and have the original function compute their outputs."""
    t0 = time.perf_counter()
    rows, held = sample(X_train, n, method, seed)
    names = cap.input_names
    ranges = {names[j]: (float(X_train[:, j].min()), float(X_train[:, j].max())) for j in range(len(names))}
    if len(held) == len(names):
        return Synthetic(np.empty((0, len(names))), np.empty((0, Y_train.shape[1])), [names[i] for i in held],
                         ranges, None, "every input is constant in the captured calls: nothing to sample", 0,
                         time.perf_counter() - t0)
    fn = cap.function
    beyond = [i["name"] for i in cap.inputs if i.get("root", "arg") != "arg"] + \
        [o["name"] for o in cap.outputs if o.get("root") != "return"]
    if beyond:
        return Synthetic(np.empty((0, len(names))), np.empty((0, Y_train.shape[1])), [names[i] for i in held],
                         ranges, None, f"it reads or writes more than its arguments and its return value "
                         f"({', '.join(beyond[:4])}): synthetic calls cover those only", 0, time.perf_counter() - t0)
    k = min(REPLAY_ROWS, len(X_train))
    spec = {**(fn.spec() if hasattr(fn, "spec") else {"module": fn.module, "qualname": fn.qualname,
                                                      "script": fn.script}), "mode": "synthetic",
            "inputs": [{"name": i["name"], "schema": i["schema"]} for i in cap.inputs],
            "result_schema": cap.result_schema, "rows": rows.tolist(),
            "replay": [[x, y] for x, y in zip(X_train[:k].tolist(), Y_train[:k].tolist())]}
    run = run_program(target, spec, timeout=timeout)
    r = run.report.get("synthetic") or {}
    if run.report.get("status") != "called" or not r:
        raise PhasmError(f"the synthetic run did not reach {fn.display} (status {run.report.get('status')!r})")
    refused = r.get("refused")
    X = np.asarray(r.get("X") or [], dtype=np.float64).reshape(-1, len(names))
    Y = np.asarray(r.get("Y") or [], dtype=np.float64).reshape(-1, Y_train.shape[1])
    if not refused and len(X) == 0:
        refused = f"the function raised on every sampled input (first: {r.get('first_error')})"
    return Synthetic(X, Y, [names[i] for i in held], ranges, r.get("replay_max_rel"), refused,
                     int(r.get("failed") or 0), time.perf_counter() - t0)
