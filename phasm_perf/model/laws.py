"""Amdahl's law and its relatives, as pure functions."""

from __future__ import annotations

import math


def amdahl_limit(p: float) -> float:
    """The end-to-end speedup if a part taking fraction ``p`` of the run took no time: ``1 / (1 - p)``.

    ``p`` is clamped to [0, 1]; ``p == 1`` gives ``inf``.
    """
    p = min(max(p, 0.0), 1.0)
    return math.inf if p >= 1.0 else 1.0 / (1.0 - p)
