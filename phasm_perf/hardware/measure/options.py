"""What ``hw measure`` measures and how long it may take."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from ...model.spec import MEASURED_RUNTIMES as DEFAULT_RUNTIMES  # the runtimes measured by default

Progress = Callable[[str, float], None]  # (what is being measured, fraction done)



@dataclass(frozen=True)
class MeasureOptions:
    quick: bool = False          # a few seconds: smaller problems, coarser tables, fewer repeats (for tests)
    device: str = "cpu"          # cpu, or cuda for the first CUDA device
    threads: int | None = None   # torch threads (default: torch's own choice)
    runtimes: tuple[str, ...] = DEFAULT_RUNTIMES
    dtypes: tuple[str, ...] = ("fp32", "bf16")   # the dtypes that get cost tables
    retries: int = 2             # measure a step again this many times when it was disturbed or inconsistent
    budget_seconds: float = 90.0   # no retry that would end past this many seconds from the start
    tables: bool = True          # measure the cost tables (off: the roofline with one efficiency, as before)
    activations: tuple[str, ...] = field(default=("relu", "silu", "tanh", "gelu"))

    @property
    def trial_seconds(self) -> float:
        return 0.04 if self.quick else 0.12
