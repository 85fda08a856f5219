"""The Pareto front of finished trials: pure functions of their objective values."""

from __future__ import annotations

from typing import Sequence


def dominates(a: Sequence[float], b: Sequence[float], senses: Sequence[str]) -> bool:
    """``a`` is at least as good as ``b`` on every objective and better on one (``senses``: minimize/maximize)."""
    better = False
    for x, y, s in zip(a, b, senses):
        if s == "maximize":
            x, y = -x, -y
        if x > y:
            return False
        if x < y:
            better = True
    return better


def front(points: Sequence[Sequence[float]], senses: Sequence[str]) -> list[int]:
    """Indices of the points no other point dominates (duplicates all kept), in input order."""
    return [i for i, p in enumerate(points)
            if not any(dominates(q, p, senses) for j, q in enumerate(points) if j != i)]
