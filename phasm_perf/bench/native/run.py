"""bench for a compiled function, as one library call: discover, capture, train, time, predict, swap, report.

    report = bench_native(target, "fmap::FieldMap::lookup", BenchOptions(), "bench.out")

The binary is only read: every run is the same file, spawned under Frida with the function replaced in memory by
a shim compiled for its signature (``native/runtime/shim.c``): capture (a reservoir of rows, the original timed),
the surrogate (``native/runtime/mlp.cpp``, in the process, one call at a time as the program calls it), a
pass-through that only calls the original (the interception's own cost), or nothing (the baseline, timed the same
way). The report has the schema and rendering of Python's bench (:mod:`phasm_perf.bench.report`).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ... import __version__
from ...collect.program import Target
from ...core.errors import PhasmError
from ...discover.native import NativeVarsOptions, discover_all, native_argv
from ...native import shim as shim_mod
from ...native.mlp import Runtime, write_weights
from .. import report as R
from ...model.laws import end_to_end
from ..run import BenchOptions, Progress, Status
from ..swap import compare_output
from ..train import TrainOptions, parse_hidden, save, train
from . import session as S
from .plan import make_plan
from .predict import NativePrediction, native_prediction


@dataclass
class NativeExtras:
    vars_calls: int = 10
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()


def file_hash(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _refuse_unresolved(report) -> None:
    if report.unresolved:
        u = report.unresolved[0]
        more = f" (and {len(report.unresolved) - 1} more)" if len(report.unresolved) > 1 else ""
        raise PhasmError(f"{report.function}: {u.name} cannot be captured or written back{more}: {u.reason}")
    if not report.outputs:
        raise PhasmError(f"{report.function} wrote nothing the trace could see (no output, no result): "
                         "nothing for a surrogate to produce")


def bench_native(target: Target, function: str, opts: BenchOptions, out_dir: str | os.PathLike,
                 extras: NativeExtras | None = None, *, on_status: Status | None = None,
                 on_progress: Progress | None = None) -> R.BenchReport:
    status = on_status or (lambda m: None)
    extras = extras or NativeExtras()
    t_start = time.perf_counter()
    hidden = parse_hidden(opts.surrogate)
    if opts.dtype not in ("fp32", "float32"):
        raise PhasmError(f"the native runtime runs float32 only (asked: {opts.dtype}); drop --dtype")
    argv = native_argv(target)
    binary = Path(argv[0])
    digest = file_hash(binary)
    out_dir = Path(out_dir)
    pred_ctx = native_prediction(opts.hardware, status)  # an unknown profile fails here, before any run
    runtime = Runtime(activation=opts.activation)         # and a missing compiler

    status(f"discovering the variables of {function} ({extras.vars_calls} traced calls)")
    vreport, loc, ins, outs = discover_all(target, function, NativeVarsOptions(
        calls=extras.vars_calls, timeout=opts.timeout, inputs=list(extras.inputs), outputs=list(extras.outputs)))
    _refuse_unresolved(vreport)
    plan = make_plan(loc, ins, outs)
    capture_shim = shim_mod.build(plan.shim())
    status(f"capture run: {len(plan.columns_in)} inputs, {len(plan.columns_out)} outputs, budget {opts.samples}")
    cap = S.run_shim(argv, loc, capture_shim, S.CAPTURE, budget=opts.samples, timeout=opts.timeout, what="capture")
    data = _sample(cap, plan, loc, opts)
    status(f"captured {len(data.X)} of {cap.calls} calls; training {opts.surrogate} ({len(data.keep)} -> "
           f"{len(data.out_names)})")
    trained = train(data.X[:, data.keep], data.Y, data.out_names, TrainOptions(
        hidden=hidden, activation=opts.activation, epochs=opts.epochs, patience=opts.patience, seed=opts.seed,
        dtype="fp32", threads=1), progress=on_progress)
    path, weights = _save(trained, data, plan, loc, opts, out_dir)
    widths = [len(data.keep), *hidden, len(data.out_names)]

    status(f"timing the native runtime at {len(opts.batches)} batch sizes")
    runtime.load(weights)
    timings = {b: runtime.seconds(b, max(5, opts.timing_repeats // 2)) for b in sorted(set(opts.batches) | {1})}
    pred = pred_ctx.for_widths(widths)
    rows = _batch_rows(timings, pred, cap.seconds_in_original / max(1, cap.calls))
    e2e, notes = None, []
    if opts.swap:
        status(f"end to end: {opts.repeats} rounds of baseline, timed, surrogate and pass-through runs, interleaved")
        e2e, notes = _end_to_end(argv, loc, capture_shim, shim_mod.build(plan.shim(data.keep)), runtime, weights,
                                 opts, timings, pred)
    if file_hash(binary) != digest:  # never expected: bench only reads the binary
        raise PhasmError(f"{binary} changed while bench ran (another process rebuilt it?): results discarded", 1)
    notes += _notes(digest, data, plan, cap, e2e)
    return _report(target, loc, opts, t_start, cap, plan, data.keep, data.constant, trained, path, widths, pred,
                   rows, e2e, notes + pred.notes, vreport)


@dataclass
class _Sample:
    X: np.ndarray
    Y: np.ndarray
    keep: list[int]          # the columns that vary: the surrogate's inputs
    constant: list[str]
    out_names: list[str]


def _sample(cap, plan, loc, opts) -> _Sample:
    if cap.rows is None or len(cap.rows) < opts.min_samples:
        raise PhasmError(f"{loc.fn.qualname} was called {cap.calls} time(s): fewer than --min-samples "
                         f"{opts.min_samples}; give the program arguments that call it more", 1)
    n_in, n_out = len(plan.columns_in), len(plan.columns_out)
    X, Y = cap.rows[:, :n_in], cap.rows[:, n_in:n_in + n_out]
    keep = [j for j in range(n_in) if not np.all(X[:, j] == X[0, j])]
    if not keep:
        raise PhasmError(f"every input of {loc.fn.qualname} was constant over {len(X)} samples: a surrogate "
                         "would be a constant", 1)
    return _Sample(X, Y, keep, [plan.columns_in[j].name for j in range(n_in) if j not in keep],
                   [c.name for c in plan.columns_out])


def _save(trained, data: _Sample, plan, loc, opts, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    in_names = [plan.columns_in[j].name for j in data.keep]
    path = save(trained, out_dir / "surrogate.pt2", {"function": loc.fn.qualname, "input_names": in_names,
                                                     "output_names": data.out_names, "language": "native"})
    weights = write_weights(trained.module, opts.activation, out_dir / "surrogate.mlp")
    np.savez_compressed(out_dir / "samples.npz", X=data.X, Y=data.Y,
                        input_names=np.array([c.name for c in plan.columns_in]), output_names=np.array(data.out_names))
    return path, weights


def _batch_rows(timings: dict[int, float], pred: NativePrediction, t_f: float) -> list[R.BatchRow]:
    return [R.BatchRow(batch=b, measured_seconds=t, measured_p25=t, measured_p75=t, measured_seconds_per_call=t / b,
                       predicted_seconds=pred.batch_seconds(b) if pred.ok else None,
                       predicted_seconds_per_call=pred.batch_seconds(b) / b if pred.ok else None,
                       bound=pred.bound(b) if pred.ok else None,
                       error=(pred.batch_seconds(b) / t - 1) if pred.ok else None, original_seconds_per_call=t_f)
            for b, t in timings.items()]


def _notes(digest: str, data: _Sample, plan, cap, e2e) -> list[str]:
    notes = [f"binary unchanged: sha256 {digest[:16]}... before and after; nothing stays attached (every run ends "
             "with its process)"]
    if data.constant:
        notes.append(f"inputs constant in every sample, not surrogate inputs: {', '.join(data.constant)}")
    if plan.counter_names:
        notes.append(f"counters written back exactly, not learned: {', '.join(plan.counter_names)}")
    base_s = e2e.baseline_seconds if e2e else None
    numbers = len(plan.columns_in) + len(plan.columns_out)
    notes.append(f"capture overhead: the capture run took {cap.seconds:.3f} s"
                 + (f" against the baseline's {base_s:.3f} s ({cap.seconds / base_s - 1:+.1%})" if base_s else "")
                 + f" ({cap.calls} calls; the shim reads {numbers} numbers per call and times the original)")
    return notes


def _variant(name, runs, base, pred_t, pred_s, t_f, calls, timings, kernel=True) -> R.VariantRow:
    secs = [r.seconds for r in runs]
    med = statistics.median(secs)
    speed = base.median / med
    kt, ks = end_to_end(base.median, calls * t_f, calls * timings[1]) if kernel else (None, speed)
    oc = compare_output(base.runs[0].stdout, runs[0].stdout, base.runs[1].stdout if len(base.runs) > 1 else None)
    return R.VariantRow(name=name, batches={"1": calls} if name == "surrogate" else {}, runs_seconds=secs,
                        seconds=med, wall_seconds=med, load_seconds=0.0,
                        calls_surrogate=calls if name == "surrogate" else 0,
                        calls_original=0 if name == "surrogate" else calls,
                        in_situ_seconds_per_call=None, measured_speedup=speed, predicted_seconds=pred_t,
                        predicted_speedup=pred_s, speedup_error=(pred_s / speed - 1) if pred_s else None,
                        kernel_composed_speedup=ks,
                        output_change=R.OutputChangeInfo(numbers=oc.numbers, max_abs=oc.max_abs, max_rel=oc.max_rel,
                                                         first_pairs=oc.pairs, note=oc.note))


@dataclass
class _Runs:
    runs: list

    @property
    def median(self) -> float:
        return statistics.median(r.seconds for r in self.runs)


def _end_to_end(argv, loc, capture_shim, swap_shim, runtime, weights, opts, timings, pred: NativePrediction):
    base, timed, sur, passes = _Runs([]), _Runs([]), _Runs([]), _Runs([])
    for _ in range(opts.repeats):
        base.runs.append(S.run_shim(argv, loc, None, S.NOTHING, timeout=opts.timeout, what="baseline run"))
        timed.runs.append(S.run_shim(argv, loc, capture_shim, S.TIMED, timeout=opts.timeout, what="timed run"))
        try:
            sur.runs.append(S.run_shim(argv, loc, swap_shim, S.SWAP, runtime=runtime.path, weights=weights,
                                       timeout=opts.timeout, what="surrogate run"))
        except PhasmError as exc:
            raise PhasmError(f"{exc} (the baseline ran: {base.median:.3f} s)", 1) from None
        passes.runs.append(S.run_shim(argv, loc, capture_shim, S.PASS, timeout=opts.timeout, what="pass-through run"))
    calls = timed.runs[0].calls
    # the function's share of the program's CPU time, within each timed run; the clock reads themselves are taken
    # out of the run (2 per call, measured by the shim)
    share = statistics.median(min(1.0, r.seconds_in_original / max(1e-9, r.seconds - 2 * r.calls * r.clock_cost))
                              for r in timed.runs)
    t_f = share * base.median / calls
    p_t = p_s = None
    if pred.ok:
        p_t, p_s = end_to_end(base.median, calls * t_f, calls * pred.program_seconds(1))
    sur_row = _variant("surrogate", sur.runs, base, p_t, p_s, t_f, calls, timings)
    pp_t, pp_s = end_to_end(base.median, 0.0, calls * pred.call) if pred.ok else (None, None)
    pass_row = _variant("pass-through", passes.runs, base, pp_t, pp_s, t_f, calls, timings, kernel=False)
    interception = (passes.median - base.median) / calls
    notes = [f"interception alone (pass-through runs minus baseline): {interception * 1e9:.0f} ns per call "
             f"(predicted {pred.call * 1e9:.0f} ns)" if pred.ok else
             f"interception alone (pass-through runs minus baseline): {interception * 1e9:.0f} ns per call",
             "program times are the CPU time of its main thread from start to exit, under Frida (the baseline with "
             "nothing hooked), median of each variant's interleaved runs: wall time on a shared machine is not "
             f"comparable (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs); wall times (s): baseline "
             f"{_walls(base)}, surrogate {_walls(sur)}; off-CPU time (sleep, I/O) is in neither"]
    e2e = R.EndToEnd(repeats=opts.repeats, calls=calls, seconds_per_call=t_f, function_share=share,
                     timed_runs_seconds_per_call=[r.seconds_in_original / max(1, r.calls) for r in timed.runs],
                     baseline_seconds=base.median, baseline_runs=[r.seconds for r in base.runs],
                     baseline_wall_seconds=base.median, surrogate_seconds=sur_row.seconds,
                     measured_speedup=sur_row.measured_speedup, predicted_speedup=sur_row.predicted_speedup,
                     variants=[sur_row, pass_row])
    return e2e, notes


def _walls(runs: "_Runs") -> str:
    return ", ".join(f"{r.wall:.3f}" for r in runs.runs)


def _report(target, loc, opts, t_start, cap, plan, keep, constant, trained, path, widths, pred, rows, e2e, notes,
            vreport) -> R.BenchReport:
    t = trained
    errs = [abs(r.error) for r in rows if r.error is not None]
    first = e2e.variants[0] if e2e else None
    verdict = R.verdict_of(first.measured_speedup if first is not None else None)
    calls = cap.calls
    t_f = cap.seconds_in_original / max(1, calls)
    return R.BenchReport(
        tool_version=__version__, created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        function=loc.fn.qualname, argv=list(target.argv), cwd=os.getcwd(), seconds=time.perf_counter() - t_start,
        device=R.DeviceSummary(device="cpu", name="native (in the program)", threads=1, cuda="not used",
                               runtime="native-mlp", clock="per batch: the runtime's steady clock, fastest group; end "
                                                           "to end: the program's main-thread CPU time"),
        options={k: v for k, v in vars(opts).items()},
        capture=R.CaptureSummary(
            calls=calls, samples=len(cap.rows), budget=opts.samples,
            inputs=[R.InputInfo(name=c.name, width=1, kind=c.dtype) for c in plan.columns_in],
            skipped_inputs=[], input_names=[plan.columns_in[j].name for j in keep],
            output_names=[c.name for c in plan.columns_out], constant_inputs=constant,
            result_kind=loc.fn.returns.name, seconds_per_call=t_f, function_seconds=cap.seconds_in_original,
            program_seconds=cap.seconds, swapped_at="every call (Interceptor.replaceFast)", batch_points={}),
        training=R.training_of(t, widths, opts.seed, path),
        prediction=R.PredictionInfo(status=pred.status, hardware=pred.hardware, dtype="fp32",
                                    t_dispatch=pred.dispatch if pred.ok else None, t_launch=0.0,
                                    t_in_program=pred.in_program if pred.ok else None),
        per_batch=rows, per_batch_median_error=statistics.median(errs) if errs else None, end_to_end=e2e,
        end_to_end_error=abs(first.speedup_error) if first and first.speedup_error is not None else None,
        verdict=verdict, notes=notes)
