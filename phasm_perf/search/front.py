"""After the trials: the rows of every trial of the study, its Pareto front, and what is done to the front.

- ``--measure-front``: each front surrogate is timed at the chosen batch with bench's timing (a Dask task holding
  the device's lock, once every trial has finished training, so timing never shares a device with training), and
  its predicted time per batch is set beside the measured one.
- ``--synthetic``: each front architecture is trained again on the captured calls alone (same seed), and its error
  on the same held-back calls is set beside the error with the synthetic calls.
- The most accurate front point is registered in the MLflow model registry with an alias (when tracked).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..model.laws import end_to_end
from ..core.errors import PhasmError
from . import schema as S
from .objectives import predict_architecture
from .optuna import Finished
from .pareto import front as pareto_front
from .space import from_params
from .tasks import train_task

SENSES = {"error": "minimize", "speedup": "maximize", "batch": "minimize"}


def trial_rows(finished: list[Finished], store: str | None = None) -> list[S.Trial]:
    """Every finished trial of the study (all sessions); a model URI is kept only for trials tracked in ``store``
    (the store this session tracks to: a URI means nothing in another)."""
    rows = []
    for f in finished:
        if f.state not in ("complete", "pruned", "failed") or not f.params:
            continue
        arch, a = from_params(f.params), f.attrs
        rows.append(S.Trial(
            number=f.number, state=f.state, session=int(a.get("session", 0)), surrogate=arch.surrogate,
            activation=arch.activation, dtype=arch.dtype, lr=arch.lr, epochs=arch.epochs, normalise=arch.normalise,
            parameters=a.get("parameters"), error=a.get("error"), errors=a.get("errors") or [],
            validation_loss=a.get("validation_loss"), predicted_speedup=a.get("predicted_speedup"),
            predicted_seconds_per_batch=a.get("predicted_seconds_per_batch"),
            break_even_batch=a.get("break_even_batch"), bound=a.get("bound"), epochs_run=a.get("epochs_run"),
            training_seconds=a.get("training_seconds"), pruned=a.get("pruned"), model_path=a.get("model_path"),
            run_id=a.get("run_id"), model_uri=a.get("model_uri") if a.get("tracking_uri") == store else None))
    return rows


def front_of(trials: list[S.Trial], objectives: list[str]) -> list[S.Trial]:
    """The complete trials no other complete trial dominates, most accurate first."""
    done = [t for t in trials if t.state == "complete" and t.error is not None]
    values = [[t.error, t.predicted_speedup, float(t.break_even_batch or np.inf)] for t in done]
    idx = {"error": 0, "speedup": 1, "batch": 2}
    points = [[v[idx[o]] for o in objectives] for v in values]
    keep = pareto_front(points, [SENSES[o] for o in objectives])
    return sorted((done[i] for i in keep), key=lambda t: (t.error, -t.predicted_speedup))


def finish_front(client, trials: list[S.Trial], objectives: list[str], ctx, opts, synth,
                 interrupted: bool, status: Callable[[str], None]):
    """``(front points, registered, notes)``; the timing and retraining are skipped after Ctrl-C."""
    notes: list[str] = []
    front = front_of(trials, objectives)
    points = [S.FrontPoint(number=t.number, surrogate=t.surrogate, activation=t.activation, dtype=t.dtype,
                           error=t.error, predicted_speedup=t.predicted_speedup,
                           break_even_batch=t.break_even_batch,
                           predicted_seconds_per_batch=t.predicted_seconds_per_batch, model_path=t.model_path,
                           model_uri=t.model_uri) for t in front]
    if not front:
        best = max((t.predicted_speedup for t in trials if t.predicted_speedup is not None), default=None)
        if not interrupted and best is not None and best < opts.min_speedup:
            notes.append(f"no architecture is predicted to pay off at batch {ctx.batch} on {ctx.profile.name} (best "
                         f"{best:.3g}x, below --min-speedup {opts.min_speedup:g}): try a larger --batch, other "
                         "hardware, or the break-even batches in search.json")
        else:
            notes.append("no trial finished: no Pareto front" + ("" if interrupted else
                                                                  " (every trial was pruned or failed; see the trials)"))
    if interrupted or not front:
        return points, None, notes
    if opts.measure_front:
        status(f"timing the {len(front)} front surrogates at batch {ctx.batch} (bench's timing, one at a time)")
        _measure(client, points, trials, ctx)
    if synth is not None and synth.used:
        status(f"training the {len(front)} front architectures again without the synthetic calls")
        _without_synthetic(client, points, trials, ctx)
    registered = None
    if ctx.log is not None and ctx.tracking_error is None:
        registered = _register(ctx.log, points[0], ctx, opts, notes)
    return points, registered, notes


def _trial(trials: list[S.Trial], number: int) -> S.Trial:
    return next(t for t in trials if t.number == number)


def _measure(client, points: list[S.FrontPoint], trials: list[S.Trial], ctx) -> None:
    from ..bench.sweep import time_task

    x = client.gather(ctx.data)["X"]
    x_mean, x_std = x.mean(axis=0).astype(np.float32), x.std(axis=0).astype(np.float32)
    x_std[x_std == 0] = 1.0
    futs = []
    for p in points:
        with open(p.model_path, "rb") as fh:
            model = {"bytes": fh.read(), "dtype": p.dtype}
        futs.append(client.submit(time_task, model, ctx.work.inputs, ctx.batch, "cpu", 1, 15, x_mean, x_std,
                                  "eager", pure=False))
    for p, r in zip(points, client.gather(futs)):
        arch = from_params_of(_trial(trials, p.number))
        pred = predict_architecture(ctx.profile, arch, ctx.work, ctx.batch)
        p.measured_seconds_per_batch = r["seconds"]
        p.time_error = pred.seconds_per_batch / r["seconds"] - 1
        t_prog = pred.program_seconds_per_call * ctx.batch - pred.seconds_per_batch  # the in-program extra
        w = ctx.work
        p.measured_speedup = end_to_end(w.program_seconds, w.function_seconds,
                                        w.calls * (r["seconds"] + t_prog) / ctx.batch)[1]


def _without_synthetic(client, points: list[S.FrontPoint], trials: list[S.Trial], ctx) -> None:
    futs = [client.submit(train_task, from_params_of(_trial(trials, p.number)), ctx.data, ctx.meta, 0.0, [],
                          ctx.seed, ctx.patience, False, pure=False) for p in points]
    for p, r in zip(points, client.gather(futs)):
        p.error_without_synthetic = r.get("error")


def from_params_of(t: S.Trial):
    from .space import Architecture
    from ..model.spec import parse_hidden

    return Architecture(hidden=parse_hidden(t.surrogate), activation=t.activation, dtype=t.dtype, lr=t.lr,
                        epochs=t.epochs, normalise=t.normalise)


def _register(log, best: S.FrontPoint, ctx, opts, notes: list[str]):
    uri = best.model_uri
    if not uri:
        notes.append(f"the most accurate front point (trial {best.number}) was not tracked in this store: "
                     "not registered")
        return None
    import re

    name = opts.register or "phasm-perf." + re.sub(r"[^\w.-]+", ".", ctx.meta["function"])
    try:
        r = log.register(uri, name, opts.alias)
    except PhasmError as exc:
        ctx.tracking_error = exc
        return None
    return S.Registered(**r, trial=best.number)


