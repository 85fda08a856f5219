"""The model's prediction for a surrogate run natively inside a compiled program, one call at a time.

Same model as everywhere (:mod:`phasm_perf.model.surrogate`: roofline per layer plus a fixed cost), on the device
:meth:`HardwareProfile.native_device` describes: the native runtime's measured FLOP rate as the compute roof, its
fixed cost per forward as the dispatch, and the interception plus the marshalling of ``d_0 + d_L`` numbers as the
in-program cost. ``t_prog = t_s(1) + t_call + (d_0 + d_L) t_num``; end to end ``T' = T - n t_f + n t_prog``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from ...model.surrogate import MLP, predict_batch
from ..predict import load_profile


@dataclass
class NativePrediction:
    status: str
    hardware: str | None = None
    dispatch: float = 0.0
    call: float = 0.0
    in_program: float = 0.0
    rows: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    _profile: object = None
    _widths: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def for_widths(self, widths: list[int]) -> "NativePrediction":
        if not self.ok:
            return self
        device = self._profile.native_device(widths[0] + widths[-1])
        mlp = MLP.of(widths[0], tuple(widths[1:-1]), widths[-1])
        return NativePrediction(status="ok", hardware=self.hardware, dispatch=device.t_dispatch,
                                call=self._profile.native.call, in_program=device.t_in_program,
                                notes=self.notes, _profile=(mlp, device), _widths=widths)

    def _batch(self, b: int):
        if b not in self.rows:
            mlp, device = self._profile
            self.rows[b] = predict_batch(mlp, b, device)
        return self.rows[b]

    def batch_seconds(self, b: int) -> float:
        return self._batch(b).seconds_per_batch

    def bound(self, b: int) -> str:
        return self._batch(b).bound

    def program_seconds(self, b: int) -> float:
        """One forward of ``b`` calls inside the program (bench swaps in one call at a time: b = 1)."""
        return self.batch_seconds(b) + b * self.in_program


def native_prediction(hardware: str, status: Callable[[str], None]) -> NativePrediction:
    profile = load_profile(hardware, on_status=status)
    if profile is None:
        return NativePrediction(status="unavailable (the prediction model is not installed)")
    if profile.native is None:
        return NativePrediction(status=f"unavailable ({profile.name} has no native runtime costs: run "
                                       f"`phasm-perf hw measure` on this machine and use --hardware local)")
    return NativePrediction(status="ok", hardware=profile.name, _profile=profile)
