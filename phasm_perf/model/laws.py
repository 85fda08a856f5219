"""Amdahl's law and its relatives (DESIGN section 3), as pure functions of numbers."""

from __future__ import annotations

import math


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


def end_to_end(T: float, T_f: float, n: int, t_s: float) -> tuple[float, float]:
    """``(T', S)``: the program's time with f replaced, ``T' = T - T_f + n t_s``, and ``S = T / T'``."""
    t_new = T - T_f + n * t_s
    return t_new, (math.inf if t_new <= 0 else T / t_new)


def gustafson_speedup(p: float, k: float) -> float:
    """Gustafson's scaled speedup ``(1 - p) + p k``: the freed time buys more work instead of a shorter run."""
    p = min(max(p, 0.0), 1.0)
    return (1.0 - p) + p * k


def brent_floor(work: float, peak: float, depth: int, t_launch: float) -> float:
    """Brent's bound: a batch of ``work`` FLOPs and ``depth`` dependent steps takes at least
    ``work / peak + depth * t_launch`` seconds (the latency floor at small batches)."""
    return work / peak + depth * t_launch
