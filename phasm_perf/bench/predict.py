"""The model's prediction for the surrogate bench measures: same shape, same dtype, same hardware profile.

A thin adapter over :mod:`phasm_perf.model.surrogate` (the roofline cost of an MLP) and :mod:`phasm_perf.hardware`
(profiles, ``local`` measured by ``hw measure``). The end-to-end composition is the one of ARCHITECTURE.md ("The model") with the batches
the program really formed: ``T' = T - n_s t_f + sum_B count_B (t_batch(B) + t_prog)``, ``S = T / T'``, where
``n_s`` is the number of calls the surrogate answered, ``count_B`` how many batches of ``B`` it was given and
``t_prog(B) = t_cold + t_marshal + (B - 1) ((d_0 + d_L - n_np) t_num + n_np t_num,np)`` (``n_np`` of the numbers
numpy scalars) the profile's in-program cost per forward (cold caches,
marshalling; 0 when the profile has none). The
per-batch table compares ``t_batch(B)`` alone: bench times it in a tight loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

@dataclass
class BatchPredicted:
    batch: int
    seconds: float  # one forward of ``batch`` rows
    bound: str
    utilisation: float

    @property
    def seconds_per_call(self) -> float:
        return self.seconds / self.batch

@dataclass
class Prediction:
    status: str  # "ok" or "unavailable (reason)"
    hardware: str | None = None
    dtype: str | None = None
    runtime: str | None = None
    flags: list[str] = field(default_factory=list)  # figures of the profile flagged as unreliable, with why
    notes: list[str] = field(default_factory=list)  # what the prediction estimated
    t_dispatch: float | None = None
    t_launch: float | None = None
    t_in_program: float = 0.0
    t_marshal_row: float = 0.0  # (d_0 + d_L - n_np) t_num + n_np t_num,np: each further row of a batched forward
    # t_in_program is t_cold + W t_cold,byte + t_marshal for this surrogate's weights W
    rows: dict[int, BatchPredicted] = field(default_factory=dict)

    def program_seconds(self, batch: int) -> float:
        """One forward of ``batch`` calls inside the program: ``t_batch(B) + t_prog(B)``."""
        from ..model.surrogate import program_batch_seconds

        return program_batch_seconds(self.rows[batch].seconds, self.t_in_program, batch, self.t_marshal_row)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def report_notes(self) -> list[str]:
        """What bench's report must say about the prediction's figures."""
        return [f"prediction made with a flagged figure of {self.hardware}: {f}" for f in self.flags] + self.notes

def predict(profile, widths: Sequence[int], dtype: str, batches: Iterable[int],
            numpy_scalars: int = 0, runtime: str = "eager", activation: str = "relu") -> Prediction:
    """Per-batch predicted time of an MLP of ``widths`` (inputs, hidden..., outputs) run by ``runtime`` on
    ``profile`` (a :class:`~phasm_perf.hardware.HardwareProfile` from :func:`load_profile`; ``None``: the model is
    not installed). ``numpy_scalars``: how many of the inputs and outputs the program passes as numpy scalars (they
    marshal slower).
    """
    if profile is None:
        return Prediction(status="unavailable (the prediction model, phasm_perf.predict, is not installed)")
    from ..model.spec import DTYPE_BYTES
    from ..predict import device_of, predict_sweep

    rows = predict_sweep(profile, inputs=int(widths[0]), outputs=int(widths[-1]), hidden=tuple(widths[1:-1]),
                         dtype=dtype, batches=sorted(set(int(b) for b in batches)), runtime=runtime,
                         activation=activation)
    device = device_of(profile, dtype, runtime)
    params = sum(a * b + b for a, b in zip(widths[:-1], widths[1:]))
    return Prediction(status="ok", hardware=profile.name, dtype=dtype, runtime=device.runtime,
                      flags=list(device.flags), notes=list(device.notes), t_dispatch=device.t_dispatch,
                      t_launch=device.t_launch, t_in_program=device.t_prog_fixed(params * DTYPE_BYTES[dtype]),
                      t_marshal_row=device.t_marshal_row(int(widths[0]) + int(widths[-1]), numpy_scalars),
                      rows={p.batch: BatchPredicted(p.batch, p.seconds_per_batch, p.bound, p.utilisation)
                            for p in rows})

def load_profile(hardware: str, on_status: Callable[[str], None] | None = None):
    """The hardware profile (``local``: this machine's, measured by ``hw measure`` the first time), or ``None``
    when the prediction model is not installed. An unknown name is a one-line error, raised before any run."""
    try:
        from ..predict import profile_of
    except ImportError:
        return None
    return profile_of(hardware, on_status=on_status)

def profile_threads(profile) -> int | None:
    """How many threads a CPU profile was measured with on this kind of machine (``hw measure`` records them as
    ``cores``); ``None`` for a GPU or a datasheet profile (its cores are another machine's)."""
    if profile is None or profile.kind != "cpu" or not profile.measured:
        return None
    return int(profile.cores) if profile.cores else None
