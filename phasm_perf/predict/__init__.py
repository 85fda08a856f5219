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

from typing import Iterable, Sequence

from pydantic import BaseModel, Field

from .. import __version__
from ..core.errors import PhasmError
from ..hardware import HardwareProfile, resolve
from ..model.laws import end_to_end, gustafson_speedup
from ..model.spec import parse_dtype, parse_hidden, powers_of_two
from ..model.surrogate import MLP, BatchPrediction, best_batch, break_even_batch, sweep
from .schema import BatchRow, Prediction

#: the default sweep: powers of two up to this batch (or up to the number of calls, whichever is smaller)
MAX_BATCH = 65536
PREDICT_SCHEMA_VERSION = 1

__all__ = ["predict_sweep", "profile_of", "mlp_of", "default_batches", "predict_function",
           "captured_io", "PredictReport", "predict_report", "rows_of", "MAX_BATCH", "BatchRow", "Prediction"]


def profile_of(hardware: str | HardwareProfile, on_status=None) -> HardwareProfile:
    """A profile by name, ``local`` (measured the first time) or path; a profile passes through."""
    if isinstance(hardware, HardwareProfile):
        return hardware
    return resolve(hardware, on_status=on_status)


def _vocabulary(parse, text):
    """A parser of :mod:`phasm_perf.model.spec` whose ``ValueError`` is the user's to fix."""
    try:
        return parse(text)
    except ValueError as exc:
        raise PhasmError(str(exc)) from None


def mlp_of(inputs: int, outputs: int, hidden: Sequence[int] | str) -> MLP:
    """An :class:`MLP` from sizes and hidden widths (a tuple, or ``"mlp:64x64"``); bad values are a PhasmError."""
    try:
        widths = parse_hidden(hidden) if isinstance(hidden, str) else tuple(int(h) for h in hidden)
        if int(inputs) < 1 or int(outputs) < 1:
            raise ValueError(f"inputs and outputs must be >= 1 (got {inputs} and {outputs})")
        return MLP.of(inputs, widths, outputs)
    except ValueError as exc:
        raise PhasmError(str(exc)) from None


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
    dtype = _vocabulary(parse_dtype, dtype)
    device = profile_of(hardware).device(dtype)
    return sweep(mlp_of(inputs, outputs, hidden), list(batches) if batches else default_batches(), device)


def _row(p: BatchPrediction, T: float | None = None, T_f: float | None = None, n: int | None = None,
         t_f: float | None = None) -> BatchRow:
    # inside the program each forward also pays t_prog (cold caches, marshalling): the end-to-end figures use it
    t_prog = p.program_seconds_per_call
    speedup = end_to_end(T, T_f, n * t_prog)[1] if T and T_f is not None and n else None
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


#: collectors of compiled programs: their functions would run a native surrogate (bench's native runtime)
NATIVE_COLLECTORS = {"perf", "callgrind", "uftrace"}


def predict_function(T: float, T_f: float, n: int, share: float, profile: HardwareProfile, hidden: Sequence[int],
                     dtype: str, inputs: int, outputs: int, batches: Sequence[int] | None = None,
                     io_source: str = "given", numpy_scalars: int = 0, native: bool = False) -> Prediction:
    """The prediction for a function of inclusive time ``T_f`` called ``n`` times in a program of time ``T``
    (``share`` = T_f / T). ``numpy_scalars``: how many of the inputs and outputs the program passes as numpy
    scalars (marshalled at the profile's ``marshal_per_numpy_number``). ``native``: a compiled program, whose
    surrogate runs natively in the process one call at a time (the profile's ``native`` figures, when it has
    them)."""
    if not n or not T_f:
        raise ValueError("a per-call prediction needs the function's exact call count")
    t_f = T_f / n
    mlp = mlp_of(inputs, outputs, hidden)
    device = profile.native_device(inputs + outputs, dtype) if native and profile.native else profile.device(dtype)
    preds = sweep(mlp, list(batches) if batches else default_batches(n), device, numpy_scalars)
    best = best_batch(preds, in_program=True)
    k = t_f / best.program_seconds_per_call
    _, S = end_to_end(T, T_f, n * best.program_seconds_per_call)
    return Prediction(
        hardware=profile.name, surrogate=mlp.spec(), dtype=dtype, inputs=inputs, outputs=outputs,
        io_source=io_source, numpy_scalars=min(numpy_scalars, inputs + outputs), best_batch=best.batch, speedup=S,
        kernel_speedup=k, break_even_batch=break_even_batch(t_f, preds, in_program=True), bound=best.bound,
        gustafson_speedup=gustafson_speedup(share, k), utilisation=best.utilisation,
        seconds_per_call=best.seconds_per_call, in_program_seconds_per_call=best.program_seconds_per_call,
        per_batch=[_row(p, T, T_f, n, t_f) for p in preds],
    )


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
