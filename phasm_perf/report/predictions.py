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
                                     options.runtime, options.activation, options.independent, native)
        cands.append(c.model_copy(update={"predicted": pred}))
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
