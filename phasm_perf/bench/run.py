"""The whole check, as one library call: capture, train, time, predict, swap, report.

    from phasm_perf.bench.run import BenchOptions, bench
    report = bench(resolve_target("examples/particles.py"), "particles:boris_push", BenchOptions(), out_dir)
"""

from __future__ import annotations

import datetime as _dt
import os
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .. import __version__
from ..collect.program import Target
from ..discover.python import discover
from ..hardware.measure.checks import SPEED_SPREAD
from ..hardware.measure.probe import speed_probe
from ..hardware.measure.timing import SpeedProbe, speed_summary
from ..model.laws import batched_seconds, end_to_end
from . import report as R
from .capture import CONSTANT_RTOL, Capture, capture, parse_function
from .plan import Plan, plan
from .predict import Prediction, load_profile, predict, profile_threads
from .runs import seconds_per_timed_call, timed_calls
from .swap import compare_output, run_session
from .timing import default_clock, resolve_device, time_forward
from ..model.spec import parse_hidden
from .train import TrainOptions, load, runtime_module, save, train

Status = Callable[[str], None]
PROBE_GROUPS = 25  # speed-probe groups a surrogate run times before and after the program: about 8 ms each side
Progress = Callable[[int, int, float, float], None]


@dataclass
class BenchOptions:
    surrogate: str = "mlp:64x64"
    activation: str = "relu"
    dtype: str = "fp32"
    samples: int = 4096
    min_samples: int = 64
    epochs: int = 400
    patience: int = 40
    seed: int = 0
    batches: list[int] = field(default_factory=lambda: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024])
    device: str = "auto"
    runtime: str = "eager"
    threads: int | None = None  # None: as many as the CPU profile was measured with (like for like)
    hardware: str = "local"
    repeats: int = 3
    timing_repeats: int = 25
    swap: bool = True
    timeout: float | None = None
    discover_calls: int = 32  # calls `vars` observes in full before thinning (the discovery run)


@dataclass
class _Setup:
    """What :func:`bench` checks and resolves before any run: the function, the shape, the profile, the device."""
    fn: object
    hidden: tuple[int, ...]
    profile: object
    dev: object


def _set_up(target: Target, function: str, opts: BenchOptions, status: Status) -> _Setup:
    fn = parse_function(function, target)
    hidden = parse_hidden(opts.surrogate)
    profile = load_profile(opts.hardware, on_status=status)  # an unknown name fails here, before any run
    if profile is not None:
        profile.device(opts.dtype)  # and so does a dtype the profile has no peak for
    threads = opts.threads or profile_threads(profile) or 1
    return _Setup(fn, hidden, profile, resolve_device(opts.device, threads))


def bench(target: Target, function: str, opts: BenchOptions, out_dir: str | os.PathLike, *,
          on_status: Status | None = None, on_progress: Progress | None = None) -> R.BenchReport:
    status = on_status or (lambda m: None)
    t_start = time.perf_counter()
    su = _set_up(target, function, opts, status)
    out_dir = Path(out_dir)

    pl, cap = _discover_and_capture(target, su.fn, opts, status)
    trained, path, widths = _train_and_save(cap, pl, su, opts, out_dir, status, on_progress)
    timings, pred, probe = _time_and_predict(path, widths, cap, su, opts, status)
    notes: list[str] = pred.report_notes() if pred.ok else []
    speed = speed_check(su.profile, probe.samples if probe else [])
    rows = _batch_rows(timings, pred, cap, speed.profile_seconds if speed else None)
    if speed is not None and abs(speed.ratio - 1) > 0.1:
        notes.append(speed_note(speed, rows))
    elif (uniform := uniform_slowdown(rows)) is not None:
        notes.append(uniform_speed_note(uniform))
    e2e = None
    if opts.swap:
        e2e = _swap_in(target, su, opts, str(path), cap, timings, pred, status)
        for r in rows:
            r.original_seconds_per_call = e2e.seconds_per_call
        notes += [f"{v.name}: {v.calls_original} call(s) answered by the original function (first call before the "
                  "swap, or inputs that did not fit the captured shape)" for v in e2e.variants if v.calls_original]
    notes += _notes(su, opts, pred, pl, cap)
    return _report(target, su, opts, t_start, pl, cap, trained, path, widths, pred, rows, e2e, notes, speed)


def _train_and_save(cap: Capture, pl: Plan, su: _Setup, opts: BenchOptions, out_dir: Path, status: Status,
                    on_progress: Progress | None):
    """Train the surrogate on the capture; keep it (``surrogate.pt2``) and the samples (``samples.npz``) in
    ``out_dir``. ``(trained, path, widths)``."""
    status(f"captured {len(cap.X)} of {cap.calls} calls; training {opts.surrogate} ({len(cap.input_names)} -> "
           f"{len(cap.output_names)})")
    trained = train(cap.X, cap.Y, cap.output_names,
                    TrainOptions(hidden=su.hidden, activation=opts.activation, epochs=opts.epochs,
                                 patience=opts.patience, seed=opts.seed, dtype=opts.dtype,
                                 threads=su.dev.threads or 1), progress=on_progress)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = save(trained, out_dir / "surrogate.pt2",
                {"function": su.fn.display, "inputs": cap.inputs, "outputs": cap.outputs, "counters": pl.counters,
                 "result_schema": cap.result_schema, "input_names": cap.input_names,
                 "output_names": cap.output_names})
    widths = [len(cap.input_names), *su.hidden, len(cap.output_names)]
    np.savez_compressed(out_dir / "samples.npz", X=cap.X, Y=cap.Y, input_names=np.array(cap.input_names),
                        output_names=np.array(cap.output_names))
    return trained, path, widths


def _probes(su: _Setup) -> bool:
    """Whether bench times the speed probe: on the CPU, with a profile that recorded it (``hw measure``)."""
    return su.dev.device == "cpu" and getattr(su.profile, "speed_probe", None) is not None


def _time_and_predict(path: Path, widths: list[int], cap: Capture, su: _Setup, opts: BenchOptions,
                      status: Status) -> tuple[list, Prediction, SpeedProbe | None]:
    """The saved surrogate timed at every batch size asked for and every one the program forms, and the model's
    prediction at the same sizes; on the CPU with a profile that recorded the speed probe, the probe timed between
    the groups (returned, with its samples)."""
    swap_batches = sorted(set(cap.batch_sizes) | {1})
    batches = sorted(set(opts.batches) | set(swap_batches))
    status(f"timing the surrogate on {su.dev.device} at {len(batches)} batch sizes")
    module, meta = load(path, su.dev.device)
    probe = speed_probe() if _probes(su) else None
    timings = time_forward(runtime_module(module, meta, opts.runtime), widths[0], batches, su.dev.device,
                           repeats=opts.timing_repeats, x_mean=meta["normalisation"]["x_mean"],
                           x_std=meta["normalisation"]["x_std"], dtype=opts.dtype, probe=probe)
    pred = predict(su.profile, widths, opts.dtype, batches, numpy_scalars=cap.numpy_scalars, runtime=opts.runtime,
                   activation=opts.activation)
    return timings, pred, probe


def _batch_rows(timings, pred: Prediction, cap: Capture, reference: float | None = None) -> list[R.BatchRow]:
    rows: list[R.BatchRow] = []
    for tm in timings:
        p = pred.rows.get(tm.batch) if pred.ok else None
        at_ref = tm.relative * reference if reference and tm.relative else None
        rows.append(R.BatchRow(
            batch=tm.batch, measured_seconds=tm.seconds, measured_p25=tm.p25, measured_p75=tm.p75,
            measured_wall_seconds=tm.wall_seconds,
            measured_seconds_per_call=tm.seconds_per_call, predicted_seconds=p.seconds if p else None,
            predicted_seconds_per_call=p.seconds_per_call if p else None, bound=p.bound if p else None,
            error=(p.seconds / tm.seconds - 1) if p else None, original_seconds_per_call=cap.seconds_per_call,
            measured_at_reference=at_ref, calibrated_error=(p.seconds / at_ref - 1) if p and at_ref else None))
    return rows


def speed_check(profile, samples: list[float]) -> R.SpeedCheck | None:
    """The speed probe's verdict: the reference forward's median while bench timed (``samples``) over the profile's
    reference (its fast speed, the 10th percentile). ``None`` without samples or without a probe in the profile (a
    data-sheet profile, or one measured before the probe existed)."""
    ref = getattr(profile, "speed_probe", None)
    if ref is None or not samples:
        return None
    s = speed_summary(samples)
    return R.SpeedCheck(profile_seconds=ref.p10, seconds=s["seconds"], p10=s["p10"], p90=s["p90"],
                        samples=s["samples"], ratio=s["seconds"] / ref.p10, profile_p90=ref.p90)


def speed_note(speed: R.SpeedCheck, rows: list[R.BatchRow]) -> str:
    """What the report says when the core ran at another speed than when the profile was measured."""
    raw = [abs(r.error) for r in rows if r.error is not None]
    cal = [abs(r.calibrated_error) for r in rows if r.calibrated_error is not None]
    note = (f"the core ran at {speed.ratio:.2f}x the speed probe's reference time in the hardware profile "
            f"({'slower' if speed.ratio > 1 else 'faster'}: its reference forward took {speed.seconds * 1e6:.1f} µs "
            f"against {speed.profile_seconds * 1e6:.1f} µs; {speed.samples} groups, 10-90% "
            f"{speed.p10 * 1e6:.1f}-{speed.p90 * 1e6:.1f} µs)")
    if raw and cal:
        note += (f"; with each timed group taken at the probe's speed just before it, the predictions are within "
                 f"{statistics.median(cal):.1%} per batch (median), {statistics.median(raw):.1%} against the raw "
                 "times (calibrated_error in bench.json)")
    if speed.profile_p90 and speed.profile_p90 / speed.profile_seconds > SPEED_SPREAD:
        note += (f"; but the core's speed moved while the profile was measured (its probe "
                 f"{speed.profile_seconds * 1e6:.1f}-{speed.profile_p90 * 1e6:.1f} µs, 10-90%): its figures may be at "
                 "either speed, and the errors at the probe's speed assume the fast one")
    return note


def _swap_in(target: Target, su: _Setup, opts: BenchOptions, path: str, cap: Capture, timings, pred: Prediction,
             status: Status) -> R.EndToEnd:
    """The end-to-end runs: the program as it is and with the surrogate swapped in, interleaved."""
    batched = bool(cap.batch_sizes)
    status(f"end to end: {opts.repeats} baseline and {opts.repeats} surrogate runs, interleaved"
           + (" (and one call at a time)" if batched else ""))
    variants = run_session(target, su.fn, path, repeats=opts.repeats, batched=batched, threads=su.dev.threads,
                           runtime=opts.runtime, device=su.dev.device, timeout=opts.timeout, on_status=status,
                           probe_groups=PROBE_GROUPS if _probes(su) else 0)
    return _end_to_end(variants, cap, timings, pred, opts.repeats, su.profile)


def _notes(su: _Setup, opts: BenchOptions, pred: Prediction, pl: Plan, cap: Capture) -> list[str]:
    """What the report says about the run beside its numbers (like for like, what the surrogate cannot know)."""
    notes = []
    dev = su.dev
    p_threads = profile_threads(su.profile)
    if dev.device == "cpu" and p_threads and p_threads != dev.threads:
        notes.append(f"the hardware profile {su.profile.name} was measured on {p_threads} thread(s), the surrogate ran "
                     f"on {dev.threads}: not like for like (measure one with `phasm-perf hw measure --threads "
                     f"{dev.threads} -o FILE` and pass --hardware FILE)")
    if not pred.ok:
        notes.append(f"prediction {pred.status}: measured numbers only")
    if pl.dropped:
        notes.append(f"left out of the surrogate's inputs, constant in every call `vars` observed: "
                     f"{', '.join(pl.dropped)} (the surrogate is valid only at these values)")
    if pl.counters:
        notes.append("replayed after each surrogate call (counters): " +
                     ", ".join(f"{c['name']} ({c['step']:+g})" for c in pl.counters))
    if cap.constant_inputs:
        notes.append(f"inputs constant in every sample (spread within {CONSTANT_RTOL:g} of their size): "
                     f"{', '.join(cap.constant_inputs)} (the surrogate learns nothing about them; it is valid only "
                     "at these values)")
    if dev.device == "cpu":
        notes.append(f"CUDA {dev.cuda}: timed on the CPU")
    return notes


def _report(target: Target, su: _Setup, opts: BenchOptions, t_start: float, pl: Plan, cap: Capture, t, path: Path,
            widths: list[int], pred: Prediction, rows: list[R.BatchRow], e2e: R.EndToEnd | None,
            notes: list[str], speed: R.SpeedCheck | None = None) -> R.BenchReport:
    errs = [abs(r.error) for r in rows if r.error is not None]
    cal = [abs(r.calibrated_error) for r in rows if r.calibrated_error is not None]
    first = e2e.variants[0] if e2e is not None else None
    verdict = R.verdict_of(first.measured_speedup if first is not None else None)
    dev = su.dev
    return R.BenchReport(
        tool_version=__version__,
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        function=su.fn.display, argv=list(target.argv), cwd=os.getcwd(),
        seconds=time.perf_counter() - t_start,
        device=R.DeviceSummary(device=dev.device, name=dev.name, threads=dev.threads, cuda=dev.cuda,
                               runtime=opts.runtime, clock=default_clock(dev.device)[1]),
        options={k: v for k, v in vars(opts).items()},
        capture=_capture_summary(cap, pl),
        training=R.training_of(t, widths, opts.seed, path),
        prediction=R.PredictionInfo(status=pred.status, hardware=pred.hardware, dtype=pred.dtype,
                                    t_dispatch=pred.t_dispatch, t_launch=pred.t_launch,
                                    t_in_program=pred.t_in_program if pred.ok else None),
        per_batch=rows, per_batch_median_error=statistics.median(errs) if errs else None, end_to_end=e2e,
        speed=speed, per_batch_median_calibrated_error=statistics.median(cal) if cal else None,
        end_to_end_error=(abs(first.speedup_error) if first is not None and first.speedup_error is not None
                          else None),
        verdict=verdict, notes=notes)


def _discover_and_capture(target: Target, fn, opts: BenchOptions, status: Status) -> tuple[Plan, Capture]:
    """The discovery run (what the function reads and writes: ``phasm-perf vars``), the refusal of what a surrogate
    cannot reproduce, then the capture run of every discovered input and output."""
    status(f"discovery run: what {fn.display} reads and writes (phasm-perf vars)")
    found = discover(target, fn.display, calls=opts.discover_calls, timeout=opts.timeout)
    pl = plan(found)
    status(f"capture run: {fn.display}, budget {opts.samples} samples")
    cap = capture(target, fn, budget=opts.samples, seed=opts.seed, min_samples=opts.min_samples,
                  timeout=opts.timeout, variables=pl.spec())
    cap.skipped += [s for s in pl.skipped if s["name"] not in {x["name"] for x in cap.skipped}]
    return pl, cap


def uniform_slowdown(rows, threshold: float = 0.25, spread: float = 0.15) -> float | None:
    """``measured / predicted`` when every batch size is off by about the same factor, and by more than
    ``threshold``: the sign of a machine running slower (or faster) than when its profile was measured, since the
    model's own errors differ between small batches (dispatch) and large ones (compute). ``None`` otherwise."""
    ratios = sorted(r.measured_seconds / r.predicted_seconds for r in rows if r.predicted_seconds)
    if len(ratios) < 3:
        return None
    mid = statistics.median(ratios)
    if abs(mid - 1) <= threshold or (ratios[-1] - ratios[0]) > spread * mid:
        return None
    return mid


def uniform_speed_note(ratio: float) -> str:
    """The note for a :func:`uniform_slowdown` ``ratio``: slower than the profile (another process on the core) or
    faster (the profile was measured in a slow moment, or the core's speed moves)."""
    why = ("another process on the core?" if ratio > 1 else
           "it was slowed when the profile was measured? benchmarks/core_speed.py shows whether its speed moves")
    return (f"every batch size measured {ratio:.2f}x the predicted time alike: the machine ran at another speed than "
            f"when the hardware profile was measured ({why}); the per-batch errors say that, not the model's shape: "
            "rerun when the machine is quiet")


def _capture_summary(cap: Capture, pl: Plan) -> R.CaptureSummary:
    return R.CaptureSummary(
        calls=cap.calls, samples=len(cap.X), budget=cap.budget,
        inputs=[R.InputInfo(name=i["name"], width=i["width"], kind=i["schema"]["kind"], root=i.get("root", "arg"))
                for i in cap.inputs],
        outputs=[R.InputInfo(name=o["name"], width=o["width"], kind=o["schema"]["kind"], root=o["root"])
                 for o in cap.outputs],
        dropped_constants=list(pl.dropped), counters=[c["name"] for c in pl.counters],
        skipped_inputs=[R.SkippedInput(**s) for s in cap.skipped], input_names=cap.input_names,
        output_names=cap.output_names, constant_inputs=cap.constant_inputs, result_kind=cap.result_schema["kind"],
        seconds_per_call=cap.seconds_per_call, function_seconds=cap.function_seconds,
        program_seconds=cap.program_seconds, swapped_at=cap.swap,
        batch_points={str(k): v for k, v in sorted(cap.batch_sizes.items())})


def _end_to_end(variants, cap: Capture, timings, pred: Prediction, repeats: int, profile=None) -> R.EndToEnd:
    by_name = {v.name: v for v in variants}
    base, timed = by_name["baseline"], by_name["timed"]
    # t_f for the composition: the function's share of the timed runs (a ratio within each run) applied to the
    # baseline's time. The timed runs' own t_f would compare two runs' absolute times: on a busy machine a slow
    # timed run makes n t_f exceed the baseline and the composition meaningless (a negative T').
    calls = timed_calls(timed.runs[0].report)
    share = timed.function_share
    t_f = share * base.median / calls if calls > 0 else timed.seconds_per_call
    measured = {t.batch: t.seconds for t in timings}
    rows = []
    for v in variants:
        if not v.name.startswith("surrogate"):
            continue
        rep = v.runs[0].report
        hist = v.histogram()
        calls_sur = sum(b * n for b, n in hist.items())
        calls_orig = int(rep.get("fallback_calls", 0)) + (1 if rep.get("first_call_original") else 0)
        speed = base.median / v.median
        kernel_t, kernel_s = end_to_end(base.median, calls_sur * t_f, batched_seconds(
            hist, lambda b: measured[b] if b in measured else _interp(measured, b)))
        p_t = p_s = err = cal_s = cal_err = None
        run_speed = speed_check(profile, v.probe_samples)
        if pred.ok:
            p_t, p_s = end_to_end(base.median, calls_sur * t_f, batched_seconds(hist, pred.program_seconds))
            err = p_s / speed - 1
            if run_speed is not None:  # the surrogate's part at the speed the core ran in these very runs
                _, cal_s = end_to_end(base.median, calls_sur * t_f, batched_seconds(
                    hist, lambda b: pred.program_seconds(b) * run_speed.ratio))
                cal_err = cal_s / speed - 1
        oc = compare_output(base.runs[0].stdout, v.runs[0].stdout,
                            base.runs[1].stdout if len(base.runs) > 1 else None)
        in_situ = [r.report.get("function_seconds", 0.0) / max(1, r.report.get("calls", 0)) for r in v.runs]
        rows.append(R.VariantRow(
            name=v.name, batches={str(b): n for b, n in hist.items()}, runs_seconds=v.seconds, seconds=v.median,
            wall_seconds=v.wall_median,
            load_seconds=statistics.median(r.report.get("setup_seconds", 0.0) for r in v.runs),
            calls_surrogate=calls_sur, calls_original=calls_orig,
            in_situ_seconds_per_call=statistics.median(in_situ) if in_situ else None,
            measured_speedup=speed, predicted_seconds=p_t, predicted_speedup=p_s, speedup_error=err,
            kernel_composed_speedup=kernel_s, speed=run_speed, predicted_speedup_at_run_speed=cal_s,
            speedup_error_at_run_speed=cal_err,
            output_change=R.OutputChangeInfo(numbers=oc.numbers, max_abs=oc.max_abs, max_rel=oc.max_rel,
                                             first_pairs=oc.pairs, note=oc.note)))
    first = rows[0]
    return R.EndToEnd(repeats=repeats, seconds_per_call=t_f, function_share=share,
                      timed_runs_seconds_per_call=[seconds_per_timed_call(r.report) for r in timed.runs],
                      calls=int(timed.runs[0].report.get("calls", 0)),
                      baseline_seconds=base.median, baseline_runs=base.seconds,
                      baseline_wall_seconds=base.wall_median, surrogate_seconds=first.seconds,
                      measured_speedup=first.measured_speedup, predicted_speedup=first.predicted_speedup,
                      variants=rows)


def _interp(measured: dict[int, float], b: int) -> float:
    """Measured time of a batch size that was not timed: linear between the neighbours (never needed when the
    program's batch sizes are added to the timed ones, as :func:`bench` does)."""
    keys = sorted(measured)
    lo = max([k for k in keys if k <= b], default=keys[0])
    hi = min([k for k in keys if k >= b], default=keys[-1])
    if lo == hi:
        return measured[lo] * b / lo
    w = (b - lo) / (hi - lo)
    return measured[lo] * (1 - w) + measured[hi] * w
