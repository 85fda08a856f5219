"""Amdahl's law and its relatives (ARCHITECTURE.md, "The model"), as pure functions of numbers."""

from __future__ import annotations

import math
from typing import Callable, Mapping


def amdahl_limit(p: float) -> float:
    """The end-to-end speedup if a part taking fraction ``p`` of the run took no time: ``1 / (1 - p)``.

    ``p`` is clamped to [0, 1]; ``p == 1`` gives ``inf``.
    """
    p = min(max(p, 0.0), 1.0)
    return math.inf if p >= 1.0 else 1.0 / (1.0 - p)


def amdahl_speedup(p: float, k: float) -> float:
    """End-to-end speedup when the part of share ``p`` runs ``k`` times faster: ``1 / ((1 - p) + p / k)``.

    ``k == inf`` gives :func:`amdahl_limit`; ``k < 1`` (a slowdown) gives a speedup below 1.
    """
    p = min(max(p, 0.0), 1.0)
    if k <= 0:
        raise ValueError("kernel speedup k must be positive")
    rest = (1.0 - p) + (0.0 if math.isinf(k) else p / k)
    return math.inf if rest <= 0 else 1.0 / rest


def end_to_end(T: float, T_f: float, replaced: float) -> tuple[float, float]:
    """``(T', S)``: the program's time with f replaced, ``T' = T - T_f + replaced``, and ``S = T / T'``.

    ``replaced`` is the time the surrogate takes for all of f's calls: ``n t_s`` one by one, or
    :func:`batched_seconds` of the batches the program forms."""
    t_new = T - T_f + replaced
    return t_new, (math.inf if t_new <= 0 else T / t_new)


def batched_seconds(histogram: Mapping[int, int], per_batch: Callable[[int], float]) -> float:
    """The surrogate's time over a run that forms ``histogram`` (batch size B -> number of batches of that size):
    ``sum_B count_B t_batch(B)``."""
    return sum(count * per_batch(b) for b, count in histogram.items())


def gustafson_speedup(p: float, k: float) -> float:
    """Gustafson's scaled speedup ``(1 - p) + p k``: the freed time buys more work instead of a shorter run."""
    p = min(max(p, 0.0), 1.0)
    return (1.0 - p) + p * k


def brent_floor(work: float, peak: float, depth: int, t_launch: float) -> float:
    """Brent's bound: a batch of ``work`` FLOPs and ``depth`` dependent steps takes at least
    ``work / peak + depth * t_launch`` seconds (the latency floor at small batches)."""
    return work / peak + depth * t_launch
