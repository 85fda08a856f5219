"""The roofline, and its hierarchical form (one memory roof per level), as pure functions.

A kernel of ``flops`` operations that moves ``bytes_`` bytes takes at least ``max(flops / P, bytes_ / BW)``: the
compute roof P or the memory roof BW, whichever is lower for its arithmetic intensity ``I = flops / bytes_``.
In the hierarchical roofline each level of the memory hierarchy (L1, L2, L3, DRAM or HBM) is a roof: the level
that serves the kernel is the smallest one its working set fits in, among the levels that keep data from one
kernel to the next (a GPU's L1 does not: each kernel starts with it cold, so its inputs come from L2 at best).

A level private to each core (a CPU's L1 and L2) is listed summed over the ``cores`` of the device; a kernel that
runs on ``u`` of them sees ``u / cores`` of its capacity and bandwidth (:func:`levels_for_cores`). A shared level
(a last-level cache, DRAM) is listed as it is.
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
    #: keeps data between kernels (False: a GPU's L1, reset at each kernel)
    persistent: bool = True
    #: one per core, listed summed over the device's cores (False: one shared pool)
    private: bool = False


def levels_for_cores(levels: Sequence[MemoryLevel], used: int, cores: int) -> tuple[MemoryLevel, ...]:
    """The levels a kernel running on ``used`` of the device's ``cores`` sees: private levels scaled by
    ``used / cores`` (capacity and bandwidth), shared ones unchanged."""
    if cores <= 0 or used >= cores:
        return tuple(levels)
    f = max(1, used) / cores
    return tuple(MemoryLevel(lvl.name, lvl.size * f, lvl.bandwidth * f, lvl.persistent, lvl.private)
                 if lvl.private else lvl for lvl in levels)


def attainable(intensity: float, peak: float, bandwidth: float) -> float:
    """Attainable FLOP/s at arithmetic intensity ``intensity`` (FLOPs per byte): ``min(P, I * BW)``."""
    return min(peak, intensity * bandwidth)


def ridge_point(peak: float, bandwidth: float) -> float:
    """The intensity (FLOPs/byte) where a kernel turns from memory-bound to compute-bound: ``P / BW``."""
    return peak / bandwidth


def level_for(working_set: float, levels: Sequence[MemoryLevel]) -> MemoryLevel:
    """The smallest persistent level (listed fastest first) whose capacity holds ``working_set`` bytes; else the
    last. A level that does not keep data between kernels never serves a kernel's inputs."""
    kept = [lvl for lvl in levels if lvl.persistent]
    if not kept:
        raise ValueError("a roofline needs at least one memory level that keeps data between kernels")
    for lvl in kept:
        if working_set <= lvl.size:
            return lvl
    return kept[-1]


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
