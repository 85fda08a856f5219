"""What a trial is judged on: its error on held-back captured calls, and the model's end-to-end speedup.

- **error**: ``max_j MAE_j / mean |y_j|`` over the outputs ``j``, on captured calls that no trial trains on (the
  held-back set, the same for every trial, with or without synthetic data): bench's "validation relative error";
  an output whose mean is 0 is scaled by its standard deviation instead.
- **speedup**: ``S = T / (T - T_f + n t_s,prog(B))`` (:func:`phasm_perf.model.laws.end_to_end`), the program's
  time ``T``, the function's ``T_f`` and calls ``n`` from the capture run, ``t_s,prog(B)`` the model's time per call
  of the surrogate inside the program at batch ``B`` on the chosen hardware and dtype. Nothing is timed.
- **break-even batch**: the smallest power-of-two batch at which the surrogate's time per call (in the program)
  is below the function's own ``t_f``; ``None``: never up to 65536.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..model.laws import end_to_end
from ..model.spec import powers_of_two
from ..model.surrogate import break_even_batch, sweep
from ..predict import MAX_BATCH, mlp_of
from .space import Architecture

OBJECTIVES = {"error": "minimize", "speedup": "maximize", "batch": "minimize"}
NEVER = math.inf  # the break-even batch of a surrogate that never pays off, as an objective value


@dataclass(frozen=True)
class Workload:
    """The function as the capture run saw it."""

    inputs: int
    outputs: int
    program_seconds: float  # T
    function_seconds: float  # T_f
    calls: int  # n
    numpy_scalars: int = 0

    @property
    def seconds_per_call(self) -> float:
        return self.function_seconds / self.calls if self.calls else 0.0


@dataclass(frozen=True)
class Predicted:
    batch: int
    seconds_per_batch: float  # t_batch(B), the forward alone
    program_seconds_per_call: float  # t_s,prog(B)
    speedup: float
    break_even_batch: int | None
    bound: str


def predict_architecture(profile, arch: Architecture, work: Workload, batch: int) -> Predicted:
    """The model's view of ``arch`` for this workload at ``batch`` on ``profile`` (a HardwareProfile)."""
    device = profile.device(arch.dtype)
    mlp = mlp_of(work.inputs, work.outputs, arch.hidden)
    batches = sorted(set(powers_of_two(MAX_BATCH)) | {batch})
    preds = sweep(mlp, batches, device, work.numpy_scalars)
    at = next(p for p in preds if p.batch == batch)
    _, speedup = end_to_end(work.program_seconds, work.function_seconds, work.calls * at.program_seconds_per_call)
    return Predicted(batch=batch, seconds_per_batch=at.seconds_per_batch,
                     program_seconds_per_call=at.program_seconds_per_call, speedup=speedup,
                     break_even_batch=break_even_batch(work.seconds_per_call, preds, in_program=True),
                     bound=at.bound)


def relative_errors(pred: np.ndarray, truth: np.ndarray) -> list[float]:
    """Per output: mean absolute error over mean ``|y|`` (over the std when the mean is 0; the MAE itself when
    both are 0)."""
    out = []
    for j in range(truth.shape[1]):
        mae = float(np.mean(np.abs(pred[:, j] - truth[:, j])))
        scale = float(np.mean(np.abs(truth[:, j]))) or float(np.std(truth[:, j])) or 1.0
        out.append(mae / scale)
    return out


def objective_values(names: list[str], error: float, pred: Predicted) -> list[float]:
    values = {"error": error, "speedup": pred.speedup,
              "batch": float(pred.break_even_batch) if pred.break_even_batch else NEVER}
    return [values[n] for n in names]


def parse_objectives(text: str) -> list[str]:
    """``error,speedup[,batch]``: error and speedup are required, in any order; each once."""
    from ..core.errors import PhasmError

    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in OBJECTIVES]
    if unknown or len(set(names)) != len(names) or not {"error", "speedup"} <= set(names):
        raise PhasmError(f"--objectives {text!r}: give error,speedup (and optionally batch, the break-even batch), "
                         "each once")
    return names


def default_batch(histogram: dict[int, int]) -> int:
    """The batch the program forms most often (its batch points), else 1: calls one at a time."""
    if not histogram:
        return 1
    return max(histogram.items(), key=lambda kv: (kv[1] * kv[0], kv[0]))[0]
