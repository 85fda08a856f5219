"""Sampling uncertainty: a share measured from N samples is known to within an interval, and the numbers derived
from it (Amdahl's limit, a predicted speedup) carry that interval through.

The interval is Wilson's score interval at 95% for a proportion of N independent samples (a sampled share behaves
as one when the sampling interval is not in step with the program); it stays inside [0, 1] and is sensible near 0
and 1, where the normal approximation is not. N is the number of samples the shares are taken from: the run's
sampled time over the sampling interval (every thread's samples), or the profile's sample count.
"""

from __future__ import annotations

import math

Z95 = 1.959963984540054


def share_interval(p: float, n: int | float | None, z: float = Z95) -> tuple[float, float]:
    """Wilson's interval for a share ``p`` measured from ``n`` samples; ``(p, p)`` when ``n`` is unknown (an exact
    profile, such as callgrind's instruction counts)."""
    if not n or n <= 0:
        return p, p
    p = min(1.0, max(0.0, p))
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def half_width(interval: tuple[float, float]) -> float:
    return (interval[1] - interval[0]) / 2


def overlaps(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


__all__ = ["share_interval", "half_width", "overlaps", "Z95"]
