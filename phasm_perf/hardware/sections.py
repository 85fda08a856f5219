"""The sections a measurement adds to a hardware profile: each runtime's costs, the cost tables, and how the
measurement went (load, spread, flags). Part of the profile's schema (:mod:`.schema`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..model.spec import ACTIVATIONS
from ..model.tables import Table1, Table3


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RuntimeCost(_Strict):
    """What a runtime adds to a forward: once per forward and once per kernel (beyond the tables' operator times
    when the profile has tables; otherwise including a tiny kernel's own time, as ``dispatch`` and
    ``launch_latency`` do)."""

    forward: float = Field(ge=0, description="seconds per forward")
    per_kernel: float = Field(ge=0, description="seconds per kernel (a linear layer or an activation)")
    source: str = Field(min_length=3)


class LinearTable(_Strict):
    """``F.linear(x, W, b)`` seconds over batch x inputs x outputs (``seconds[b][i][o]`` flattened)."""

    batches: list[float] = Field(min_length=1)
    inputs: list[float] = Field(min_length=1)
    outputs: list[float] = Field(min_length=1)
    seconds: list[float]
    source: str = Field(min_length=3)

    def table(self) -> Table3:
        return Table3(tuple(self.batches), tuple(self.inputs), tuple(self.outputs), tuple(self.seconds))


class ActivationTable(_Strict):
    """Each activation's seconds over element counts (an out-of-place call on a contiguous tensor)."""

    elements: list[float] = Field(min_length=1)
    seconds: dict[str, list[float]]
    source: str = Field(min_length=3)

    def tables(self) -> dict[str, Table1]:
        return {k: Table1(tuple(self.elements), tuple(v)) for k, v in self.seconds.items()}


class FreshPages(_Strict):
    """What an intermediate tensor of at least ``from_bytes`` costs per byte in a forward beyond its operator
    timed alone: the allocator hands it memory fresh from the OS (page faults, zeroing)."""

    seconds_per_byte: float = Field(ge=0)
    from_bytes: float = Field(ge=0)
    source: str = Field(min_length=3)


class Tables(_Strict):
    threads: int = Field(ge=1, description="the threads the tables were measured with")
    linear: dict[str, LinearTable] = {}
    activation: dict[str, ActivationTable] = {}
    fresh_pages: FreshPages | None = None

    @model_validator(mode="after")
    def _shapes(self) -> "Tables":
        try:
            for t in self.linear.values():
                t.table()
            for a in self.activation.values():
                unknown = sorted(set(a.seconds) - set(ACTIVATIONS))
                if unknown:
                    raise ValueError(f"unknown activation(s) {unknown}")
                a.tables()

        except ValueError as exc:
            raise ValueError(str(exc)) from None
        return self


class Flag(_Strict):
    """A figure ``hw measure`` could not trust: what, and why (load, spread, an inconsistency)."""

    figure: str = Field(description="peak.fp32, linear.bf16, runtime.eager, in_program, memory, ... or 'all'")
    reason: str


class Quality(_Strict):
    """How a measured profile was measured: the machine's load while it ran, the spread of repeats, flags."""

    flags: list[Flag] = []
    load: dict = {}
    spread: dict = {}
