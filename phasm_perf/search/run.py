"""``phasm-perf search``: the whole search as one library call.

    report = run_search(resolve_target("examples/particles.py", ["--events", "4"]), "particles:boris_push",
                        SearchOptions(trials=20, hardware="epyc-7763"), "phasm-out/search")

The program runs once to capture the function's calls (bench's capture); a share of them is held back, the same
for every trial, to judge each surrogate's error; the rest (and ``--synthetic`` rows) is what trials train on.
Trials run on Dask (a local cluster, or any scheduler), priced by the model at the chosen batch and hardware; the
answer is the Pareto front of error against predicted end-to-end speedup.
"""

from __future__ import annotations

import datetime as _dt
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .. import __version__
from ..bench.capture import Capture, capture, parse_function
from ..bench.predict import load_profile
from ..collect.program import Target
from ..core.errors import PhasmError
from . import schema as S
from .front import finish_front, trial_rows
from .loop import LoopContext, run_loop
from .objectives import Workload, default_batch, parse_objectives
from .results import TrialLog, search_params
from .space import Space

Status = Callable[[str], None]


@dataclass
class SearchOptions:
    trials: int = 50
    objectives: str = "error,speedup"
    hardware: str = "local"
    batch: int | None = None  # None: the batch the program forms (its batch points), else 1
    timeout: float | None = None  # the search's time budget: no trial starts after it
    study: str | None = None
    storage: str | None = None  # None: sqlite in the output folder
    sampler: str = "tpe"
    scheduler: str | None = None
    workers: int = 2
    seed: int = 0
    samples: int = 4096
    min_samples: int = 64
    held_back: float = 0.2
    patience: int = 30
    max_epochs: int | None = None
    min_speedup: float = 1.0
    prune: bool = True  # stop hopeless trials while they train (see .tasks)
    synthetic: int = 0
    synthetic_method: str = "lhs"
    measure_front: bool = False
    run_timeout: float | None = None  # each run of the program
    register: str | None = None  # registered model name (default phasm-perf.MODULE.FUNCTION)
    alias: str = "best"
    space: Space = field(default_factory=Space)


def validate(opts: SearchOptions) -> list[str]:
    """The checks that need nothing installed or run: one-line errors before anything starts. Returns the
    objectives."""
    if opts.trials < 1:
        raise PhasmError(f"--trials {opts.trials}: a search needs at least 1 trial")
    if opts.sampler not in ("tpe", "nsga2"):
        raise PhasmError(f"--sampler {opts.sampler!r}: choose tpe or nsga2")
    if opts.synthetic_method not in ("lhs", "uniform"):
        raise PhasmError(f"--synthetic-method {opts.synthetic_method!r}: choose lhs or uniform")
    if opts.storage is not None and "://" not in opts.storage:
        raise PhasmError(f"--storage {opts.storage!r}: give a database URL, e.g. sqlite:///search.db "
                         "(or postgresql://user@host/db)")
    opts.space.check()
    return parse_objectives(opts.objectives)


def study_name(function: str) -> str:
    return "search-" + re.sub(r"[^\w.-]+", "-", function)


def run_search(target: Target, function: str, opts: SearchOptions, out_dir: str | Path,
               log: TrialLog | None = None, on_status: Status | None = None,
               on_event: Callable[[dict], None] | None = None) -> S.SearchReport:
    """Open the study and the Dask cluster (bad options and unreachable schedulers fail here, before the program
    runs), capture, then search; the report covers every trial of the study."""
    status = on_status or (lambda m: None)
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    validate(opts)
    fn = parse_function(function, target)
    study, space, profile, objectives = _open_study(fn.display, opts, out_dir, status)
    from ..bench.sweep import connect

    client, cluster = connect(opts.scheduler, opts.workers)
    try:
        ctx, synth, info = _prepare(client, target, fn, study, space, profile, objectives, opts, out_dir, status)
        ctx.on_event = on_event or ctx.on_event
        parent = None
        if log is not None:
            params = search_params(list(target.argv), fn.display, opts, space.signature(), profile.name, ctx.batch,
                                   study.name)
            try:
                parent = log.start(f"search {fn.display}", params, client.gather(ctx.data)["Xh"][:5])
                ctx.log, ctx.parent = log, parent
                ctx.log_base = {"function": fn.display, "hardware": profile.name, "batch": ctx.batch}
            except PhasmError as exc:  # the store failed: search untracked, said at the end
                ctx.tracking_error = exc
        capacity = max(1, sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values()))
        status(f"search on {opts.scheduler or 'a local cluster'} ({capacity} workers): {opts.trials} trials, "
               f"objectives {', '.join(objectives)}, batch {ctx.batch}, {profile.name}")
        deadline = time.monotonic() + opts.timeout if opts.timeout else None
        state = run_loop(client, ctx, capacity, deadline)
        trials = trial_rows(study.finished(), log.uri if ctx.log else None)
        front, registered, notes = finish_front(client, trials, objectives, ctx, opts, synth,
                                                state == "interrupted", status)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    if len(ctx.failures) >= max(10, opts.trials):
        notes.append(f"the search stopped: {len(ctx.failures)} trials failed (first: {ctx.failures[0]})")
    report = S.SearchReport(
        tool_version=__version__, created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        status=state, function=fn.display, argv=list(target.argv), study=study.name, storage=study.storage_url,
        sampler=opts.sampler, objectives=objectives, hardware=profile.name, batch=ctx.batch, space=space.as_dict(),
        trials_requested=opts.trials, scheduler=opts.scheduler or "local", workers=capacity,
        seconds=time.perf_counter() - t0, capture=info, synthetic=synth.info if synth else None, pareto=front,
        trials=trials, registered=registered, notes=notes,
        tracking={"uri": log.uri, "experiment": log.experiment, "parent_run_id": parent} if parent else None)
    report._tracking_error = ctx.tracking_error  # raised by the caller once the outputs are written
    return report


def _open_study(function: str, opts: SearchOptions, out_dir: Path, status: Status):
    """The study (new, or continued with the same options), the constrained space, the profile, the objectives."""
    from .optuna import Study

    objectives = parse_objectives(opts.objectives)
    profile = load_profile(opts.hardware, on_status=status)
    space = opts.space.constrained(profile.dtypes(), opts.max_epochs)
    storage = opts.storage or "sqlite:///" + str((out_dir / "optuna.db").resolve())
    if opts.storage is None:
        out_dir.mkdir(parents=True, exist_ok=True)
    name = opts.study or study_name(function)
    study = Study(name, storage, objectives, opts.sampler, opts.seed, opts.trials,
                  {"function": function, "space": space.signature(), "objectives": objectives,
                   "hardware": profile.name, "batch": opts.batch or "program", "synthetic": opts.synthetic})
    if study.stale:
        status(f"study {name}: {study.stale} trial(s) left running by a stopped session marked failed")
    if study.resumed:
        status(f"continuing study {name}: {study.done()} of {opts.trials} trials already done")
    return study, space, profile, objectives


def _prepare(client, target: Target, fn, study, space: Space, profile, objectives: list[str], opts: SearchOptions,
             out_dir: Path, status: Status):
    """Capture once, hold calls back, add synthetic calls: the loop's context with the data on the cluster."""
    status(f"capture run: {fn.display}, budget {opts.samples} samples")
    cap = capture(target, fn, budget=opts.samples, seed=opts.seed, min_samples=opts.min_samples,
                  timeout=opts.run_timeout)
    out_dir.mkdir(parents=True, exist_ok=True)
    data, info = _split(cap, opts, out_dir)
    synth = _synthetic(target, cap, data, opts, status)
    work = Workload(inputs=len(cap.input_names), outputs=len(cap.output_names), program_seconds=cap.program_seconds,
                    function_seconds=cap.function_seconds, calls=cap.calls, numpy_scalars=cap.numpy_scalars)
    meta = {"function": fn.display, "inputs": cap.inputs, "result_schema": cap.result_schema,
            "input_names": cap.input_names, "output_names": cap.output_names}
    session = study.next_session()
    ctx = LoopContext(study=study, space=space, objectives=objectives, profile=profile, work=work,
                      batch=opts.batch or default_batch(cap.batch_sizes), trials=opts.trials,
                      min_speedup=opts.min_speedup, prune=opts.prune, seed=opts.seed, patience=opts.patience,
                      out_dir=out_dir, data=client.scatter(data, broadcast=True), meta=meta, session=session)
    return ctx, synth, info


def _split(cap: Capture, opts: SearchOptions, out_dir: Path) -> tuple[dict, S.CaptureInfo]:
    """Hold back a share of the captured calls (seeded): the error every trial is judged on."""
    from ..core.output import output_file

    n = len(cap.X)
    order = np.random.default_rng(opts.seed + 7).permutation(n)
    k = min(n - 16, max(8, int(round(n * opts.held_back))))
    if k < 8:
        raise PhasmError(f"too few captured calls to hold some back: {n} (need at least 24; give the program more "
                         "work or raise --samples)")
    held, train = order[:k], order[k:]
    data = {"X": cap.X[train], "Y": cap.Y[train], "Xh": cap.X[held], "Yh": cap.Y[held], "Xs": None, "Ys": None}
    with output_file(out_dir / "samples.npz", binary=True) as fh:
        np.savez_compressed(fh, X=cap.X, Y=cap.Y, held_back=held, input_names=np.array(cap.input_names),
                            output_names=np.array(cap.output_names))
    info = S.CaptureInfo(calls=cap.calls, samples=n, train=len(train), held_back=k, input_names=cap.input_names,
                         output_names=cap.output_names, constant_inputs=cap.constant_inputs,
                         seconds_per_call=cap.seconds_per_call, function_seconds=cap.function_seconds,
                         program_seconds=cap.program_seconds,
                         batch_points={str(b): c for b, c in sorted(cap.batch_sizes.items())})
    return data, info


@dataclass
class _Synth:
    info: S.SyntheticInfo
    used: bool


def _synthetic(target: Target, cap: Capture, data: dict, opts: SearchOptions, status: Status) -> _Synth | None:
    if not opts.synthetic:
        return None
    from .synthetic import synthesize

    status(f"synthetic run: {opts.synthetic} inputs ({opts.synthetic_method}) through the original {cap.function.display}")
    s = synthesize(target, cap, data["X"], data["Y"], opts.synthetic, opts.synthetic_method, opts.seed,
                   opts.run_timeout)
    info = S.SyntheticInfo(requested=opts.synthetic, method=opts.synthetic_method, generated=len(s.X),
                           held_constant=s.held_constant, ranges=s.ranges, replay_max_rel_change=s.replay_max_rel,
                           refused=s.refused, seconds=s.seconds)
    if s.refused:
        status(f"no synthetic data: {s.refused}")
        return _Synth(info, False)
    data["Xs"], data["Ys"] = s.X, s.Y
    status(f"{len(s.X)} synthetic calls added to the {len(data['X'])} captured ones trials train on"
           + (f" ({s.failed} sampled inputs raised)" if s.failed else ""))
    return _Synth(info, True)
