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

    ``replaced`` is the time the surrogate takes for all of f's calls: ``n t_s`` one by one,
    :func:`batched_seconds` of the batches the program forms, or ``batch_count(n, B) t_batch,prog(B)``."""
    t_new = T - T_f + replaced
    return t_new, (math.inf if t_new <= 0 else T / t_new)


def batched_seconds(histogram: Mapping[int, int], per_batch: Callable[[int], float]) -> float:
    """The surrogate's time over a run that forms ``histogram`` (batch size B -> number of batches of that size):
    ``sum_B count_B t_batch(B)``."""
    return sum(count * per_batch(b) for b, count in histogram.items())


def batch_count(n: int, batch: int, independent: int | None = None) -> int:
    """How many forwards answer ``n`` calls at batch ``batch``: ``ceil(n / B)``.

    ``independent``: the calls the program can put in one batch (per iteration of its loop; the rest depend on
    earlier results). Then the ``n`` calls come in ``ceil(n / m)`` groups of ``m``, each of ``ceil(m / B)``
    forwards, and a batch is never larger than ``m``. The last forward of a group may be partial: it is priced
    as a full one (``t_batch,prog(B)`` is nearly flat at the batches where that matters)."""
    if n <= 0:
        return 0
    b = max(1, int(batch))
    if independent:
        m = max(1, int(independent))
        return math.ceil(n / m) * math.ceil(m / min(b, m))
    return math.ceil(n / b)


def batched_program_seconds(T: float, T_f: float, n: int, batch: int, t_batch_prog: float,
                            independent: int | None = None) -> tuple[float, float]:
    """``(T', S)`` with the calls answered in forwards of ``batch``:
    ``T' = T - T_f + batch_count(n, B, m) t_batch,prog(B)``."""
    return end_to_end(T, T_f, batch_count(n, batch, independent) * t_batch_prog)


def fill_wait(batch: int, interval: float) -> float:
    """The time the first call of a batch waits for the batch to fill when calls stream in one every
    ``interval`` seconds: ``(B - 1) interval`` (the mean call waits half of it). It delays each result; it does
    not lengthen a run whose own work goes on meanwhile, and a program that needs a result before it can make
    the next call cannot batch at all (its calls are dependent)."""
    return max(0, int(batch) - 1) * max(0.0, interval)


def accelerated_serial_fraction(T: float, T_f: float, replaced: float) -> float:
    """The serial fraction of the *accelerated* run, ``s' = (T - T_f) / T'`` with ``T' = T - T_f + replaced``:
    the fraction Gustafson's law is stated in (measured on the fast system, not on the old one)."""
    t_new = T - T_f + replaced
    return 1.0 if t_new <= 0 else min(1.0, max(0.0, (T - T_f) / t_new))


def gustafson_speedup(serial_accelerated: float, k: float) -> float:
    """Gustafson's scaled speedup ``s' + (1 - s') k``: how much more of the accelerated part's work the same
    wall time holds, with ``s'`` the serial fraction of the *accelerated* run (:func:`accelerated_serial_fraction`)
    and ``k`` the kernel speedup. With the old run's share in place of ``s'`` the law is misapplied (it gave
    13,344x for ``boris_push``, more than the kernel speedup allows). When the whole event scales (more events,
    each with its serial part), the gain in events per unit time is ``T / T'``, Amdahl's ``S``."""
    s = min(max(serial_accelerated, 0.0), 1.0)
    return s + (1.0 - s) * k


def brent_floor(work: float, peak: float, depth: int, t_step: float) -> float:
    """The lower bound of Brent's theorem: a batch of ``work`` FLOPs through ``depth`` dependent steps can never
    finish before ``max(work / peak, depth * t_step)`` (all the work at the peak, or the critical path alone)."""
    return max(work / peak, depth * t_step)


def brent_bound(work: float, peak: float, depth: int, t_step: float) -> float:
    """The upper bound of Brent's theorem: a greedy schedule finishes by ``work / peak + depth * t_step``."""
    return work / peak + depth * t_step
