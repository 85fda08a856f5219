"""Predict before training: the model of :mod:`phasm_perf.model` applied to a hardware profile and a surrogate.

    >>> from phasm_perf.predict import predict_sweep
    >>> rows = predict_sweep("a100-40gb-sxm", inputs=7, outputs=6, hidden=(64, 64), dtype="fp32",
    ...                      batches=[1, 64, 4096])
    >>> [r.bound for r in rows]
    ['latency', 'latency', 'latency']

This is the glue between the pure model, the hardware profiles and the reports: ``predict`` (the model alone),
``rank --hardware`` (a prediction per candidate) and ``bench`` (predictions beside measurements) all call it.
Every prediction is for one runtime (:data:`phasm_perf.model.spec.RUNTIMES`; by default the one bench swaps in)
and says which figures of its profile were flagged as unreliable when they were measured.
"""

from __future__ import annotations

from typing import Callable, Iterable, Sequence

from pydantic import BaseModel, Field

from .. import __version__
from ..core.errors import PhasmError
from ..hardware import HardwareProfile, resolve
from ..model.laws import accelerated_serial_fraction, batch_count, end_to_end, fill_wait, gustafson_speedup
from ..model.spec import DEFAULT_RUNTIME, DTYPE_BYTES, RUNTIMES, parse_dtype, parse_hidden, parse_runtime, powers_of_two
from ..model.surrogate import MLP, BatchPrediction, Device, break_even_batch, sweep
from .schema import BatchRow, Prediction

#: the default sweep: powers of two up to this batch (or up to the calls the program can batch, if smaller)
MAX_BATCH = 65536
PREDICT_SCHEMA_VERSION = 2

__all__ = ["predict_sweep", "profile_of", "mlp_of", "device_of", "default_batches", "predict_function",
           "captured_io", "PredictReport", "predict_report", "rows_of", "summary_notes", "MAX_BATCH", "BatchRow",
           "Prediction"]


def profile_of(hardware: str | HardwareProfile, on_status: Callable[[str], None] | None = None) -> HardwareProfile:
    """A profile by name, ``local`` (measured the first time, or again when stale) or path; a profile passes
    through."""
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


def device_of(profile: HardwareProfile, dtype: str = "fp32", runtime: str = DEFAULT_RUNTIME) -> Device:
    """The model's view of ``profile`` for ``dtype`` in ``runtime`` (bad names are one-line errors)."""
    return profile.device(_vocabulary(parse_dtype, dtype), _vocabulary(parse_runtime, runtime))


def _device(profile: HardwareProfile, dtype: str, runtime: str, numbers: int) -> Device:
    """``device_of``, except that the native runtime of a profile that measured it (``hw measure`` with Frida and
    g++) is its own: the C++ forward's fit and the in-program call, for a surrogate of ``numbers`` inputs and
    outputs."""
    if runtime == "native" and profile.native:
        return profile.native_device(numbers, _vocabulary(parse_dtype, dtype))
    return device_of(profile, dtype, runtime)


def default_batches(calls: int | None = None, upto: int = MAX_BATCH, independent: int | None = None) -> list[int]:
    """Powers of two up to ``upto``, no further than ``calls`` (a batch larger than the calls in the run cannot be
    filled) nor than ``independent`` (the calls the program can put in one batch), which is itself added when it
    is not a power of two: the batch the program can form."""
    limit = upto if not calls else max(1, min(upto, calls))
    if independent:
        limit = max(1, min(limit, int(independent)))
    out = powers_of_two(limit)
    if independent and limit == int(independent) and out[-1] != limit:
        out.append(limit)
    return out


def predict_sweep(hardware: str | HardwareProfile, inputs: int, outputs: int, hidden: Sequence[int] | str,
                  dtype: str = "fp32", batches: Iterable[int] | None = None, runtime: str = DEFAULT_RUNTIME,
                  activation: str = "relu") -> list[BatchPrediction]:
    """The model for one surrogate on one device in one runtime over a batch sweep (default: powers of two to
    65536). ``hardware``: a profile name, ``local``, a YAML path or a :class:`HardwareProfile`. Each
    :class:`~phasm_perf.model.surrogate.BatchPrediction` has ``seconds_per_batch``, ``seconds_per_call``,
    ``bound``, ``utilisation`` and the terms behind them.
    """
    device = _device(profile_of(hardware), dtype, runtime, inputs + outputs)
    return sweep(mlp_of(inputs, outputs, hidden), list(batches) if batches else default_batches(), device,
                 activation=activation)


def summary_notes(device: Device) -> list[str]:
    """What a prediction's summary line must say about its figures: flagged ones, estimated ones."""
    out = [f"flagged figure {f}" for f in device.flags]
    return out + list(device.notes)


def _row(p: BatchPrediction, T: float | None = None, T_f: float | None = None, n: int | None = None,
         t_f: float | None = None, independent: int | None = None) -> BatchRow:
    # inside the program each forward also pays t_prog (cold caches, marshalling): the end-to-end figures use it;
    # n calls take batch_count(n, B) forwards of t_batch,prog(B)
    t_prog = p.program_seconds_per_call
    forwards = batch_count(n, p.batch, independent) if n else None
    speedup = end_to_end(T, T_f, forwards * p.program_seconds_per_batch)[1] if T and T_f is not None and n else None
    gap = (T - T_f) / n if T and T_f is not None and n else None
    return BatchRow(batch=p.batch, seconds_per_batch=p.seconds_per_batch, seconds_per_call=p.seconds_per_call,
                    in_program_seconds_per_call=t_prog,
                    bound=p.bound, utilisation=p.utilisation, flops=p.flops, bytes=p.bytes,
                    compute_seconds=p.compute_seconds, memory_seconds=p.memory_seconds,
                    link_seconds=p.link_seconds, latency_seconds=p.latency_seconds,
                    brent_floor_seconds=p.brent_floor_seconds, brent_bound_seconds=p.brent_bound_seconds,
                    forwards=forwards, speedup=speedup, kernel_speedup=(t_f / t_prog) if t_f else None,
                    fill_wait_seconds=fill_wait(p.batch, gap) if gap is not None else None)


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
                     io_source: str = "given", numpy_scalars: int = 0, runtime: str = DEFAULT_RUNTIME,
                     activation: str = "relu", independent: int | None = None, native: bool = False) -> Prediction:
    """The prediction for a function of inclusive time ``T_f`` called ``n`` times in a program of time ``T``
    (``share`` = T_f / T). ``numpy_scalars``: how many of the inputs and outputs the program passes as numpy
    scalars (marshalled at the profile's ``marshal_per_numpy_number``); ``independent``: how many calls the
    program can put in one batch (``vars``' batchability; None: all of them). ``native``: a compiled program, whose
    surrogate runs natively in the process one call at a time (the profile's ``native`` figures, when it has
    them)."""
    if not n or not T_f:
        raise ValueError("a per-call prediction needs the function's exact call count")
    t_f = T_f / n
    mlp = mlp_of(inputs, outputs, hidden)
    device = _device(profile, dtype, "native" if native and profile.native else runtime, inputs + outputs)
    bs = [b for b in batches if not independent or b <= independent] if batches else None
    preds = sweep(mlp, bs or default_batches(n, independent=independent), device, numpy_scalars, activation)
    rows = [_row(p, T, T_f, n, t_f, independent) for p in preds]
    k_best = min(range(len(preds)), key=lambda i: (-(rows[i].speedup or 0.0), preds[i].batch))
    best, row = preds[k_best], rows[k_best]
    replaced = row.forwards * best.program_seconds_per_batch
    k = t_f / best.program_seconds_per_call
    return Prediction(
        hardware=profile.name, surrogate=mlp.spec(), dtype=device.dtype, runtime=device.runtime,
        activation=activation, inputs=inputs, outputs=outputs, io_source=io_source,
        numpy_scalars=min(numpy_scalars, inputs + outputs), independent_calls=independent, best_batch=best.batch,
        speedup=end_to_end(T, T_f, replaced)[1], kernel_speedup=k,
        break_even_batch=break_even_batch(t_f, preds, in_program=True), bound=best.bound,
        serial_fraction=accelerated_serial_fraction(T, T_f, replaced),
        gustafson_speedup=gustafson_speedup(accelerated_serial_fraction(T, T_f, replaced), k),
        utilisation=best.utilisation, seconds_per_call=best.seconds_per_call,
        in_program_seconds_per_call=best.program_seconds_per_call, flags=list(device.flags),
        notes=list(device.notes), per_batch=rows,
    )


class PredictReport(BaseModel):
    """``phasm-perf predict --format json``: the model alone, one row per batch size."""

    schema_version: int = PREDICT_SCHEMA_VERSION
    tool_version: str = __version__
    hardware: str
    hardware_description: str
    surrogate: str
    dtype: str
    runtime: str = Field(DEFAULT_RUNTIME, description="what runs the surrogate: " + "; ".join(
        f"{k}: {v}" for k, v in RUNTIMES.items()))
    activation: str = "relu"
    inputs: int
    outputs: int
    parameters: int = Field(description="weights and biases of the MLP")
    peak_flops: float = Field(description="the dtype's peak FLOP/s in the profile (utilisation is against it)")
    dispatch_seconds: float = Field(description="the runtime's cost per forward")
    launch_seconds: float = Field(description="the runtime's cost per kernel")
    in_program_seconds: float = Field(0.0, description="t_prog: extra per forward inside a program (cold caches, "
                                                       "marshalling) for this surrogate's weights; 0 when the "
                                                       "profile has none")
    tables: bool = Field(False, description="kernel times from the profile's measured tables (else the roofline)")
    flags: list[str] = Field([], description="figures of the profile flagged as unreliable when measured, with why")
    notes: list[str] = Field([], description="what was estimated (a runtime the profile has no figures for)")
    per_batch: list[BatchRow]


def predict_report(hardware: str | HardwareProfile, inputs: int, outputs: int, surrogate: str,
                   batches: Sequence[int] | None = None, dtype: str = "fp32", runtime: str = DEFAULT_RUNTIME,
                   activation: str = "relu", on_status: Callable[[str], None] | None = None) -> PredictReport:
    prof = profile_of(hardware, on_status=on_status)
    mlp = mlp_of(inputs, outputs, surrogate)
    dev = _device(prof, dtype, runtime, inputs + outputs)
    preds = sweep(mlp, list(batches) if batches else default_batches(), dev, activation=activation)
    return PredictReport(hardware=prof.name, hardware_description=prof.description, surrogate=mlp.spec(),
                         dtype=dev.dtype, runtime=dev.runtime, activation=activation, inputs=inputs,
                         outputs=outputs, parameters=mlp.parameters, peak_flops=dev.nominal_peak,
                         dispatch_seconds=dev.t_dispatch, launch_seconds=dev.t_launch,
                         in_program_seconds=dev.t_prog_fixed(mlp.parameters * DTYPE_BYTES[dev.dtype]),
                         tables=dev.linear_table is not None, flags=list(dev.flags), notes=list(dev.notes),
                         per_batch=rows_of(preds))

