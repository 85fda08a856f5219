"""Predict before training: the model of :mod:`phasm_perf.model` applied to a hardware profile and a surrogate.

    >>> from phasm_perf.predict import predict_sweep
    >>> rows = predict_sweep("a100-40gb-sxm", inputs=7, outputs=6, hidden=(64, 64), dtype="fp32",
    ...                      batches=[1, 64, 4096])
    >>> [r.bound for r in rows]
    ['latency', 'latency', 'latency']

This is the glue between the pure model, the hardware profiles and the reports: ``predict`` (the model alone),
``rank --hardware`` (a prediction per candidate) and ``bench`` (predictions beside measurements) all call it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from pydantic import BaseModel, Field

from .. import __version__
from ..core.errors import PhasmError
from ..hardware import HardwareProfile, resolve
from ..model.laws import end_to_end, gustafson_speedup
from ..model.surrogate import DTYPES, MLP, BatchPrediction, best_batch, break_even_batch, parse_hidden, \
    powers_of_two, sweep
from ..report.schema import BatchRow, Candidate, Prediction, RankReport

#: the default sweep: powers of two up to this batch (or up to the number of calls, whichever is smaller)
MAX_BATCH = 65536
PREDICT_SCHEMA_VERSION = 1

__all__ = ["predict_sweep", "profile_of", "mlp_of", "parse_batches", "default_batches", "PredictOptions",
           "predict_candidate", "attach_predictions", "captured_io", "PredictReport", "predict_report", "rows_of", "MAX_BATCH"]


def profile_of(hardware: str | HardwareProfile, on_status=None) -> HardwareProfile:
    """A profile by name, ``local`` (measured the first time) or path; a profile passes through."""
    if isinstance(hardware, HardwareProfile):
        return hardware
    return resolve(hardware, on_status=on_status)


def mlp_of(inputs: int, outputs: int, hidden: Sequence[int] | str) -> MLP:
    """An :class:`MLP` from sizes and hidden widths (a tuple, or ``"mlp:64x64"``); bad values are a PhasmError."""
    try:
        widths = parse_hidden(hidden) if isinstance(hidden, str) else tuple(int(h) for h in hidden)
        if int(inputs) < 1 or int(outputs) < 1:
            raise ValueError(f"inputs and outputs must be >= 1 (got {inputs} and {outputs})")
        return MLP.of(inputs, widths, outputs)
    except ValueError as exc:
        raise PhasmError(str(exc)) from None


def parse_batches(text: str | None) -> list[int] | None:
    """``"1,8,64"`` -> ``[1, 8, 64]``; ``"1-4096"`` -> powers of two from 1 to 4096; None stays None."""
    if text is None:
        return None
    out: list[int] = []
    try:
        for part in filter(None, (p.strip() for p in text.split(","))):
            if "-" in part:
                lo, hi = (int(x) for x in part.split("-", 1))
                out += [b for b in powers_of_two(hi) if b >= lo]
            else:
                out.append(int(part))
    except ValueError:
        raise PhasmError(f"--batch {text!r}: give batch sizes like 1,8,64 or a power-of-two range like 1-4096") \
            from None
    if not out or any(b < 1 for b in out):
        raise PhasmError(f"--batch {text!r}: batch sizes must be integers >= 1")
    return sorted(set(out))


def default_batches(calls: int | None = None, upto: int = MAX_BATCH) -> list[int]:
    """Powers of two up to ``upto``, and no further than ``calls`` (a batch larger than the calls in the run
    cannot be filled)."""
    limit = upto if not calls else max(1, min(upto, calls))
    return powers_of_two(limit)


def predict_sweep(hardware: str | HardwareProfile, inputs: int, outputs: int, hidden: Sequence[int] | str,
                  dtype: str = "fp32", batches: Iterable[int] | None = None) -> list[BatchPrediction]:
    """The model for one surrogate on one device over a batch sweep (default: powers of two to 65536).

    ``hardware``: a profile name, ``local``, a YAML path or a :class:`HardwareProfile`. Each
    :class:`~phasm_perf.model.surrogate.BatchPrediction` has ``seconds_per_batch``, ``seconds_per_call``,
    ``bound``, ``utilisation`` and the terms behind them.
    """
    if dtype not in DTYPES:
        raise PhasmError(f"unknown dtype {dtype!r}; choose one of {', '.join(DTYPES)}")
    device = profile_of(hardware).device(dtype)
    return sweep(mlp_of(inputs, outputs, hidden), list(batches) if batches else default_batches(), device)


def _row(p: BatchPrediction, T: float | None = None, T_f: float | None = None, n: int | None = None,
         t_f: float | None = None) -> BatchRow:
    # inside the program each forward also pays t_prog (cold caches, marshalling): the end-to-end figures use it
    t_prog = p.program_seconds_per_call
    speedup = end_to_end(T, T_f, n, t_prog)[1] if T and T_f is not None and n else None
    return BatchRow(batch=p.batch, seconds_per_batch=p.seconds_per_batch, seconds_per_call=p.seconds_per_call,
                    in_program_seconds_per_call=t_prog,
                    bound=p.bound, utilisation=p.utilisation, flops=p.flops, bytes=p.bytes,
                    compute_seconds=p.compute_seconds, memory_seconds=p.memory_seconds,
                    link_seconds=p.link_seconds, latency_seconds=p.latency_seconds, speedup=speedup,
                    kernel_speedup=(t_f / t_prog) if t_f else None)


def captured_io(bundle) -> dict[str, tuple[int | None, int | None, int]]:
    """Inputs, outputs and how many of them are numpy scalars, counted in the first real calls of each counted
    function of a bundle (by key)."""
    return {c.function: (c.inputs, c.outputs, c.numpy_scalars) for c in bundle.meta.counts.functions}


def rows_of(predictions: Sequence[BatchPrediction]) -> list[BatchRow]:
    return [_row(p) for p in predictions]


@dataclass(frozen=True)
class PredictOptions:
    hardware: str
    surrogate: str = "mlp:64x64"
    dtype: str = "fp32"
    batches: tuple[int, ...] | None = None
    inputs: int | None = None
    outputs: int | None = None


#: collectors of compiled programs: their functions would run a native surrogate (bench's native runtime)
NATIVE_COLLECTORS = {"perf", "callgrind", "uftrace"}


def predict_candidate(cand: Candidate, T: float, profile: HardwareProfile, hidden: Sequence[int],
                      dtype: str, inputs: int, outputs: int, batches: Sequence[int] | None = None,
                      io_source: str = "given", numpy_scalars: int = 0, native: bool = False) -> Prediction:
    """The prediction for one candidate of a program of time ``T``: needs its call count and time per call.
    ``numpy_scalars``: how many of the inputs and outputs the program passes as numpy scalars (marshalled at the
    profile's ``marshal_per_numpy_number``)."""
    if not cand.calls or not cand.seconds_per_call:
        raise ValueError("a per-call prediction needs the candidate's exact call count")
    n, t_f, T_f = cand.calls, cand.seconds_per_call, cand.inclusive_seconds
    mlp = mlp_of(inputs, outputs, hidden)
    # a compiled program runs the surrogate natively in the process (bench's native runtime), one call at a time
    device = profile.native_device(inputs + outputs, dtype) if native and profile.native else profile.device(dtype)
    preds = sweep(mlp, list(batches) if batches else default_batches(n), device, numpy_scalars)
    best = best_batch(preds, in_program=True)
    k = t_f / best.program_seconds_per_call
    _, S = end_to_end(T, T_f, n, best.program_seconds_per_call)
    return Prediction(
        hardware=profile.name, surrogate=mlp.spec(), dtype=dtype, inputs=inputs, outputs=outputs,
        io_source=io_source, numpy_scalars=min(numpy_scalars, inputs + outputs), best_batch=best.batch, speedup=S, kernel_speedup=k,
        break_even_batch=break_even_batch(t_f, preds, in_program=True), bound=best.bound,
        gustafson_speedup=gustafson_speedup(cand.share, k), utilisation=best.utilisation,
        seconds_per_call=best.seconds_per_call, in_program_seconds_per_call=best.program_seconds_per_call,
        per_batch=[_row(p, T, T_f, n, t_f) for p in preds],
    )


def attach_predictions(report: RankReport, captured: dict[str, tuple[int | None, ...]],
                       options: PredictOptions, profile: HardwareProfile | None = None) -> RankReport:
    """A copy of ``report`` whose candidates carry their ``predicted`` object.

    ``captured`` maps a candidate's key to the (inputs, outputs[, numpy scalars among them]) counted in its first
    real calls; ``--inputs`` and ``--outputs`` override the first two. A candidate that cannot be predicted gets a note saying why.
    """
    profile = profile or profile_of(options.hardware)
    hidden = parse_hidden_or_fail(options.surrogate)
    profile.device(options.dtype)  # a dtype the device lacks is one clear error, before any candidate
    T = report.sampled_seconds
    notes = list(report.notes)
    native = report.collector.split()[0] in NATIVE_COLLECTORS
    if native and profile.native:
        notes.append(f"compiled program: predicted for the native runtime in the process ({profile.native.runtime}: "
                     f"measured by hw measure), not PyTorch's dispatch")
    elif native:
        notes.append(f"compiled program: {profile.name} has no native runtime costs (run `phasm-perf hw measure` and "
                     f"use --hardware local): predicted with its PyTorch dispatch cost")
    cands = []
    for c in report.candidates:
        cap_in, cap_out, *rest = captured.get(c.key, (None, None))
        n_np = int(rest[0] or 0) if rest else 0
        d_in = options.inputs or cap_in
        d_out = options.outputs or cap_out
        pred = None
        if c.kind == "waiting":
            notes.append(f"{c.function}: waiting ({100 * (1 - c.on_cpu_fraction):.0f}% off-CPU), no prediction: "
                         "a surrogate does not remove a wait")
        elif not c.calls:
            notes.append(f"{c.function}: no exact call count, so no per-call prediction (run without --no-counts)")
        elif not d_in or not d_out:
            notes.append(f"{c.function}: its inputs/outputs are not known (no numeric arguments or result were seen);"
                         " give --inputs and --outputs")
        else:
            src = "given" if (options.inputs and options.outputs) or not (cap_in and cap_out) else "captured"
            pred = predict_candidate(c, T, profile, hidden, options.dtype, d_in, d_out, options.batches, src, n_np,
                                     native=native)
        cands.append(c.model_copy(update={"predicted": pred}))
    if any(c.predicted and c.predicted.break_even_batch is None for c in cands):
        notes.append("break-even 'never': at no batch size does the surrogate beat the function's own time per call")
    opts = dict(report.options)
    opts.update({"hardware": profile.name, "surrogate": options.surrogate, "dtype": options.dtype,
                 "batch": list(options.batches) if options.batches else "sweep"})
    return report.model_copy(update={"candidates": cands, "notes": notes, "options": opts})


def parse_hidden_or_fail(spec: str) -> tuple[int, ...]:
    try:
        return parse_hidden(spec)
    except ValueError as exc:
        raise PhasmError(str(exc)) from None


class PredictReport(BaseModel):
    """``phasm-perf predict --format json``: the model alone, one row per batch size."""

    schema_version: int = PREDICT_SCHEMA_VERSION
    tool_version: str = __version__
    hardware: str
    hardware_description: str
    surrogate: str
    dtype: str
    inputs: int
    outputs: int
    parameters: int = Field(description="weights and biases of the MLP")
    peak_flops: float = Field(description="the dtype's peak FLOP/s in the profile (utilisation is against it)")
    dispatch_seconds: float
    launch_seconds: float
    in_program_seconds: float = Field(0.0, description="t_prog: extra per forward inside a program (cold caches, "
                                                       "marshalling); 0 when the profile has none")
    per_batch: list[BatchRow]


def predict_report(hardware: str | HardwareProfile, inputs: int, outputs: int, surrogate: str,
                   batches: Sequence[int] | None = None, dtype: str = "fp32") -> PredictReport:
    prof = profile_of(hardware)
    mlp = mlp_of(inputs, outputs, surrogate)
    preds = predict_sweep(prof, inputs, outputs, mlp.hidden, dtype, batches)
    dev = prof.device(dtype)
    return PredictReport(hardware=prof.name, hardware_description=prof.description, surrogate=mlp.spec(),
                         dtype=dtype, inputs=inputs, outputs=outputs, parameters=mlp.parameters,
                         peak_flops=dev.nominal_peak, dispatch_seconds=dev.t_dispatch, launch_seconds=dev.t_launch,
                         in_program_seconds=dev.t_in_program,
                         per_batch=rows_of(preds))
