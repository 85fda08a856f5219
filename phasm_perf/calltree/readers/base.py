"""The common result of every reader and every collector: on-CPU and off-CPU stacks (Counters, root first) and what
they weigh."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..tree import CallTree


@dataclass
class Profile:
    on_cpu: Counter = field(default_factory=Counter)
    off_cpu: Counter = field(default_factory=Counter)
    format: str = ""
    weight_unit: str = "samples"
    seconds_per_unit: float = 1.0
    off_cpu_known: bool = False
    #: exact call counts by function key (``name (file)`` or ``name``), where the format records them
    calls: dict[str, int] = field(default_factory=dict)
    threads: int = 0
    notes: list[str] = field(default_factory=list)
    #: samples taken (0: not known; then the total weight stands for it), and samples that could not be read
    samples: int = 0
    invalid: int = 0

    def tree(self) -> "CallTree":
        from ..tree import CallTree  # pandas: only when a call tree is built (start-up time, ARCHITECTURE.md)

        return CallTree(self.on_cpu, self.off_cpu, self.seconds_per_unit)

    @property
    def total_weight(self) -> float:
        return sum(self.on_cpu.values()) + sum(self.off_cpu.values())


def invalid_note(invalid: list[tuple[int, str]], what: str = "line") -> list[str]:
    """One note for skipped lines: how many, and the first few line numbers."""
    if not invalid:
        return []
    nums = ", ".join(str(n) for n, _ in invalid[:5]) + (", ..." if len(invalid) > 5 else "")
    return [f"{len(invalid)} invalid {what}(s) skipped (line {nums})"]


__all__ = ["Profile", "invalid_note"]
