"""A rank report's candidates with their predictions (``rank --hardware``): the model of :mod:`phasm_perf.predict`
applied to each candidate that can be predicted, and a note for each that cannot, saying why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ..hardware import HardwareProfile
from ..predict import NATIVE_COLLECTORS, mlp_of, predict_function, profile_of
from ..predict.schema import Prediction
from .schema import Candidate, RankReport


@dataclass(frozen=True)
class PredictOptions:
    hardware: str
    surrogate: str = "mlp:64x64"
    dtype: str = "fp32"
    batches: tuple[int, ...] | None = None
    inputs: int | None = None
    outputs: int | None = None
    runtime: str = "eager"
    activation: str = "relu"
    independent: int | None = None


def predict_candidate(cand: Candidate, T: float, profile: HardwareProfile, hidden: Sequence[int],
                      dtype: str, inputs: int, outputs: int, batches: Sequence[int] | None = None,
                      io_source: str = "given", numpy_scalars: int = 0, runtime: str = "eager",
                      activation: str = "relu", independent: int | None = None, native: bool = False) -> Prediction:
    """The prediction for one candidate of a program of time ``T``: needs its call count and time per call."""
    if not cand.calls or not cand.seconds_per_call:
        raise ValueError("a per-call prediction needs the candidate's exact call count")
    return predict_function(T, cand.inclusive_seconds, cand.calls, cand.share, profile, hidden, dtype, inputs,
                            outputs, batches, io_source, numpy_scalars, runtime, activation, independent, native)


def _speedup_interval(c: Candidate, T: float, speedup_of) -> tuple[float, float] | None:
    """The predicted speedup at the two ends of the candidate's share interval (its time is only known that well)."""
    lo, hi = c.share_interval
    if lo == hi or not c.calls:
        return None
    got = [speedup_of(c.model_copy(update={"inclusive_seconds": s * T, "share": s, "seconds_per_call": s * T / c.calls}))
           for s in (max(lo, 1e-12), hi)]
    return min(got), max(got)


def _io_reason(d_in, d_out, cap_in, cap_out) -> str:
    """Why the surrogate's size is not known, in the function's own terms."""
    if cap_out == 0 and d_in:
        return (f"it takes {d_in} number(s) but returns none (None: it writes its results in place, into its "
                "arguments or globals); give --outputs M (the numbers it writes)")
    if cap_in == 0 and d_out:
        return f"it returns {d_out} number(s) but takes none as arguments (it reads globals or members); give --inputs N"
    if cap_in is None and cap_out is None:
        return "its first calls were not seen (not counted, or too long to watch); give --inputs and --outputs"
    return "no numbers were seen in its arguments or its result; give --inputs and --outputs"


def attach_predictions(report: RankReport, captured: dict[str, tuple[int | None, ...]],
                       options: PredictOptions, profile: HardwareProfile | None = None) -> RankReport:
    """A copy of ``report`` whose candidates carry their ``predicted`` object.

    ``captured`` maps a candidate's key to the (inputs, outputs[, numpy scalars among them]) counted in its first
    real calls; ``--inputs`` and ``--outputs`` override the first two. A candidate that cannot be predicted gets a note saying why.
    """
    profile = profile or profile_of(options.hardware)
    hidden = mlp_of(1, 1, options.surrogate).hidden  # a bad architecture is one clear error
    device = profile.device(options.dtype, options.runtime)  # a dtype the device lacks: one error, before any
    # candidate; and its flagged figures are said once, in the report's notes
    T = report.sampled_seconds
    notes = list(report.notes) + _native_note(report, profile)
    native = report.collector.split()[0] in NATIVE_COLLECTORS
    cands = []
    for c in report.candidates:
        interval = None
        cap_in, cap_out, *rest = captured.get(c.key, (None, None))
        n_np = int(rest[0] or 0) if rest else 0
        # (inputs, outputs, numpy scalars[, independent calls, source]): rank --vars observed the function
        independent = options.independent or (rest[1] if len(rest) > 1 else None)
        observed = len(rest) > 2 and rest[2] == "vars"
        d_in = options.inputs or cap_in
        d_out = options.outputs or cap_out
        pred = None
        if c.kind == "waiting":
            notes.append(f"{c.function}: waiting ({100 * (1 - c.on_cpu_fraction):.0f}% off-CPU), no prediction: "
                         "a surrogate does not remove a wait")
        elif not c.calls:
            why = c.calls_note or "no call count"
            notes.append(f"{c.function}: no per-call prediction: {why}")
        elif not d_in or not d_out:
            notes.append(f"{c.function}: no prediction: {_io_reason(d_in, d_out, cap_in, cap_out)}")
        else:
            src = "given" if (options.inputs and options.outputs) or not (cap_in and cap_out) else \
                "vars" if observed else "captured"
            pred = predict_candidate(c, T, profile, hidden, options.dtype, d_in, d_out, options.batches, src, n_np,
                                     options.runtime, options.activation, independent, native)
            interval = _speedup_interval(c, T, lambda cc: predict_candidate(
                cc, T, profile, hidden, options.dtype, d_in, d_out, options.batches, src, n_np, options.runtime,
                options.activation, independent, native).speedup)
        cands.append(c.model_copy(update={"predicted": pred,
                                          "predicted_speedup_interval": interval if pred else None}))
    notes += [f"prediction made with a flagged figure of {profile.name}: {f}" for f in device.flags]
    notes += list(device.notes)
    if any(c.predicted and c.predicted.break_even_batch is None for c in cands):
        notes.append("break-even 'never': at no batch size does the surrogate beat the function's own time per call")
    opts = dict(report.options)
    opts.update({"hardware": profile.name, "surrogate": options.surrogate, "dtype": options.dtype,
                 "runtime": options.runtime, "activation": options.activation, "independent": options.independent,
                 "batch": list(options.batches) if options.batches else "sweep"})
    return report.model_copy(update={"candidates": cands, "notes": notes, "options": opts})


def _native_note(report: RankReport, profile: HardwareProfile) -> list[str]:
    """A compiled program's surrogate runs natively in the process: say with which figures it was predicted."""
    if report.collector.split()[0] not in NATIVE_COLLECTORS:
        return []
    if profile.native:
        return [f"compiled program: predicted for the native runtime in the process ({profile.native.runtime}, "
                f"measured by hw measure), not PyTorch's dispatch"]
    return [f"compiled program: {profile.name} has no native runtime costs (run `phasm-perf hw measure` and use "
            f"--hardware local): predicted with its PyTorch dispatch cost"]
