"""The common result of every reader and every collector: on-CPU and off-CPU stacks (Counters, root first) and what
they weigh."""

from __future__ import annotations

import math
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ...core.errors import PhasmError

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
    #: the span of the run the samples cover, in seconds (Austin: the longest sum of one thread's sample intervals);
    #: 0: not known. Less than the run's wall time by what an attaching sampler missed (it starts after the program)
    sampled_seconds: float = 0.0

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


FORCE_HINT = "pass --force to read what can be read"


def damaged(path: str | os.PathLike, what: str, force: bool, readable: bool = True) -> str:
    """A damaged profile: with ``force`` (and something left to read) the note that says what was skipped, else
    the one-line error (with the hint to ``--force`` when it would help)."""
    if force and readable:
        return f"read with --force although {what}"
    hint = f"; {FORCE_HINT}" if readable else ""
    raise PhasmError(f"{str(path)!r}: {what}{hint}")


def _all_counts(values) -> bool:
    """Every weight a finite, non-negative int or float: a few C-level passes (a million stacks in milliseconds).
    False: some weight may be bad (the exact check then says which)."""
    kinds = set(map(type, values))
    if not kinds <= {int, float, bool}:
        return False
    return (not values or min(values) >= 0) and (float not in kinds or all(map(math.isfinite, values)))


def check_weights(profile: Profile, path: str | os.PathLike, force: bool = False) -> Profile:
    """What every reader's result must be: stacks whose weights are finite and not negative, and whose total is not
    zero. Bad weights are an error (with ``force``: dropped, and said); nothing left to rank always is."""
    for name in ("on_cpu", "off_cpu"):
        stacks: Counter = getattr(profile, name)
        if _all_counts(stacks.values()):
            continue
        bad = [s for s, w in stacks.items() if not isinstance(w, (int, float)) or not math.isfinite(w) or w < 0]
        if bad:
            profile.notes.append(damaged(path, f"{len(bad)} stack(s) have a negative, infinite or non-numeric "
                                                f"weight (first: {';'.join(bad[0])[:60]!r})", force))
            for s in bad:
                del stacks[s]
    if not profile.on_cpu and not profile.off_cpu:
        raise PhasmError(f"{str(path)!r} holds no stack to rank")
    if profile.total_weight <= 0:
        raise PhasmError(f"{str(path)!r}: every stack's weight is zero: there is no time to rank")
    return profile


__all__ = ["Profile", "invalid_note", "damaged", "check_weights", "FORCE_HINT"]
