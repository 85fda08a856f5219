"""The ask / train / tell loop on Dask: as many trials in flight as the cluster has worker threads.

Each asked trial draws an architecture, is priced by the model (no training needed for that), and is pruned at once
when it cannot pay off (``min_speedup``); otherwise a worker trains it (:func:`.tasks.train_task`). A finished
trial is told to the study with its results as attributes, its surrogate kept as ``trials/trial-NNNN.pt2`` and, when
tracking, logged as an MLflow child run of the search. Ctrl-C stops the loop: running trials are marked failed
(they do not count), finished ones stay in the study and the report.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..core.output import write_output
from ..core.errors import PhasmError
from .objectives import Predicted, Workload, objective_values, predict_architecture
from .optuna import Study, TrialHandle
from .space import Architecture, Space, sample
from .tasks import train_task

Event = Callable[[dict], None]


@dataclass
class LoopContext:
    study: Study
    space: Space
    objectives: list[str]
    profile: object
    work: Workload
    batch: int
    trials: int
    min_speedup: float
    prune: bool
    seed: int
    patience: int
    out_dir: Path
    data: object  # the scattered data (a Dask future)
    meta: dict
    session: int
    log: object = None  # a results.TrialLog, or None: not tracked
    parent: str | None = None  # the search's run in it
    log_base: dict = field(default_factory=dict)  # parameters every trial's run shares
    on_event: Event = lambda e: None
    front: list[tuple[float, float]] = field(default_factory=list)  # (speedup, validation loss) of finished trials
    tracking_error: PhasmError | None = None
    failures: list[str] = field(default_factory=list)


def run_loop(client, ctx: LoopContext, capacity: int, deadline: float | None) -> str:
    """Run trials until the study has ``ctx.trials`` finished or pruned ones; returns the status. SIGTERM stops it
    as Ctrl-C does (a batch system's time limit keeps the finished trials too)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return _run_loop(client, ctx, capacity, deadline)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        return _run_loop(client, ctx, capacity, deadline)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


@contextlib.contextmanager
def _deferred_interrupt():
    """Ctrl-C (and SIGTERM) held until the block is done, then raised."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    got: list[int] = []
    saved = {s: signal.signal(s, lambda n, f: got.append(n)) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in saved.items():
            signal.signal(s, h)
    if got:
        raise KeyboardInterrupt


def _run_loop(client, ctx: LoopContext, capacity: int, deadline: float | None) -> str:
    from distributed import as_completed

    running: dict = {}
    ac = as_completed()
    status = "complete"
    finishing = [0]  # a trial back from its worker, not told yet (being saved and tracked)

    def fill() -> None:
        nonlocal status
        while len(running) < capacity and ctx.study.done() + len(running) + finishing[0] < ctx.trials:
            if deadline is not None and time.monotonic() > deadline:
                status = "timed out"
                return
            if len(ctx.failures) >= max(10, ctx.trials):
                return
            handle = ctx.study.ask()
            arch = sample(ctx.space, handle)
            pred = predict_architecture(ctx.profile, arch, ctx.work, ctx.batch)
            if pred.speedup < ctx.min_speedup:
                _tell(ctx, handle, arch, pred, "pruned", {"pruned": f"predicted speedup {pred.speedup:.3g}x at "
                                                                    f"batch {ctx.batch}: below {ctx.min_speedup:g}x"})
                continue
            fut = client.submit(train_task, arch, ctx.data, ctx.meta, pred.speedup,
                                list(ctx.front) if ctx.prune else [], ctx.seed, ctx.patience, pure=False)
            running[fut] = (handle, arch, pred)
            ac.add(fut)

    try:
        fill()
        for fut in ac:
            handle, arch, pred = running.pop(fut)
            try:
                res = fut.result()
            except Exception as exc:  # noqa: BLE001 - a worker's error: the trial failed, the search goes on
                ctx.failures.append(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
                _tell(ctx, handle, arch, pred, "failed", {"pruned": f"failed: {ctx.failures[-1]}"})
            else:
                finishing[0] = 1
                fill()  # the freed worker trains the next trial while this one is saved and tracked
                with _deferred_interrupt():  # its file, its run and the study agree, even on Ctrl-C
                    _finish(ctx, handle, arch, pred, res)
                finishing[0] = 0
            fill()
    except KeyboardInterrupt:
        status = "interrupted"
        for fut, (handle, arch, pred) in running.items():
            fut.cancel()
            _tell(ctx, handle, arch, pred, "failed", {"pruned": "interrupted"})
    return status


def _finish(ctx: LoopContext, handle: TrialHandle, arch: Architecture, pred: Predicted, res: dict) -> None:
    attrs = {"epochs_run": res.get("epochs_run"), "training_seconds": res.get("seconds")}
    if res["state"] != "complete":
        attrs["pruned"] = res.get("reason")
        _tell(ctx, handle, arch, pred, "pruned", attrs)
        return
    path = ctx.out_dir / "trials" / f"trial-{handle.number:04d}.pt2"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_output(res["bytes"], str(path))
    attrs.update({"error": res["error"], "errors": res["errors"], "validation_loss": res["validation_loss"],
                  "parameters": res["parameters"], "model_path": str(path)})
    if ctx.log is not None and ctx.tracking_error is None:
        from .results import trial_metrics, trial_params

        try:
            attrs.update(ctx.log.trial(ctx.parent, handle.number, f"trial {handle.number} {arch.label()}",
                                       trial_params(handle.number, arch, ctx.log_base), trial_metrics(attrs, pred),
                                       res["bytes"], str(path)))
        except PhasmError as exc:  # the tracking store failed: the search goes on untracked, said once it is over
            ctx.tracking_error = exc
    ctx.front.append((pred.speedup, res["validation_loss"]))
    _tell(ctx, handle, arch, pred, "complete", attrs, objective_values(ctx.objectives, res["error"], pred))


def _tell(ctx: LoopContext, handle: TrialHandle, arch: Architecture, pred: Predicted, state: str, attrs: dict,
          values: list[float] | None = None) -> None:
    attrs = dict(attrs, session=ctx.session, predicted_speedup=pred.speedup,
                 predicted_seconds_per_batch=pred.seconds_per_batch, break_even_batch=pred.break_even_batch,
                 bound=pred.bound)
    ctx.study.tell(handle, state, values, attrs)
    ctx.on_event({"number": handle.number, "state": state, "architecture": arch.label(), "error": attrs.get("error"),
                  "speedup": pred.speedup, "done": ctx.study.done(), "total": ctx.trials})
