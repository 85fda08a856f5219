"""The roofline, and its hierarchical form (one memory roof per level), as pure functions.

A kernel of ``flops`` operations that moves ``bytes_`` bytes takes at least ``max(flops / P, bytes_ / BW)``: the
compute roof P or the memory roof BW, whichever is lower for its arithmetic intensity ``I = flops / bytes_``.
In the hierarchical roofline each level of the memory hierarchy (L1, L2, L3, DRAM or HBM) is a roof: the level
that serves the kernel is the smallest one its working set fits in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

Bound = Literal["compute", "memory", "link", "latency"]


@dataclass(frozen=True)
class MemoryLevel:
    """One level of the memory hierarchy: its capacity (bytes; ``inf`` for the last) and bandwidth (bytes/s)."""

    name: str
    size: float
    bandwidth: float


def attainable(intensity: float, peak: float, bandwidth: float) -> float:
    """Attainable FLOP/s at arithmetic intensity ``intensity`` (FLOPs per byte): ``min(P, I * BW)``."""
    return min(peak, intensity * bandwidth)


def ridge_point(peak: float, bandwidth: float) -> float:
    """The intensity (FLOPs/byte) where a kernel turns from memory-bound to compute-bound: ``P / BW``."""
    return peak / bandwidth


def level_for(working_set: float, levels: Sequence[MemoryLevel]) -> MemoryLevel:
    """The smallest level (listed fastest first) whose capacity holds ``working_set`` bytes; else the last."""
    if not levels:
        raise ValueError("a roofline needs at least one memory level")
    for lvl in levels:
        if working_set <= lvl.size:
            return lvl
    return levels[-1]


def roofline_time(flops: float, bytes_: float, peak: float, bandwidth: float) -> tuple[float, Bound]:
    """``(max(flops / P, bytes / BW), bound)``; a tie counts as compute-bound."""
    tc = flops / peak
    tm = bytes_ / bandwidth
    return (tc, "compute") if tc >= tm else (tm, "memory")


def hierarchical_time(flops: float, bytes_: float, peak: float, levels: Sequence[MemoryLevel],
                      working_set: float | None = None) -> tuple[float, Bound, MemoryLevel]:
    """The roofline time with the memory roof of the level that holds ``working_set`` (default ``bytes_``)."""
    lvl = level_for(bytes_ if working_set is None else working_set, levels)
    t, bound = roofline_time(flops, bytes_, peak, lvl.bandwidth)
    return t, bound, lvl
