"""Can a measured figure be trusted? Each step of ``hw measure`` runs under a :class:`~.timing.LoadMonitor` and its
result is checked for consistency; a step that was disturbed (other processes needed the cores) or inconsistent is
measured again, and a figure that stays so is flagged in the profile with the reason, so that every prediction
made with it says so.

Consistency, pure functions of the figures:

- a peak above twice what the cores, base clock and vector units allow (a timer problem: turbo clocks reach
  1.2-1.9x the base clock ``/proc/cpuinfo`` reports, never 2x);
- a layer table whose large layers reach far less of the GEMM peak measured a moment before (below 25%; a loaded
  first measurement once recorded 1%) or more than 1.5x it;
- runtimes out of order: a module runtime (eager, inference, export, compile) cheaper per kernel than plain
  functional calls (a module call wraps the same operator call), or operators measured slower than the whole
  forward they are part of;
- memory roofs out of order (a faster level measured slower than the one behind it);
- a core whose speed moved while the figures were measured: the speed probe's reference forward spread beyond
  :data:`SPEED_SPREAD` between its 10th and 90th percentiles (measured on a quiet 2-core EPYC VM whose cores switch
  between two speeds: 2.0x; the figures then mix the two speeds, each in its own proportion).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from .timing import LoadMonitor, StepLoad

#: the layer table's large nodes must reach at least this share of the square-GEMM peak
MIN_LAYER_EFFICIENCY = 0.25
MAX_LAYER_EFFICIENCY = 1.5
MODULE_RUNTIMES = ("eager", "inference", "export", "compile")
#: the speed probe's 90th percentile over its 10th beyond which the core's speed moved during the measurement
SPEED_SPREAD = 1.4


def check_speed(probe: dict | None) -> list[str]:
    """The speed probe of a measurement (``{seconds, p10, p90, samples}``): flagged when it spread beyond
    :data:`SPEED_SPREAD`."""
    if not probe or probe["p10"] <= 0 or probe["p90"] / probe["p10"] <= SPEED_SPREAD:
        return []
    return [f"speed_probe: the core's speed moved while the figures were measured (the reference forward took "
            f"{probe['p10'] * 1e6:.1f} µs at the 10th percentile, {probe['p90'] * 1e6:.1f} µs at the 90th: "
            f"{probe['p90'] / probe['p10']:.1f}x); each figure is at one speed or a mixture, and bench's errors at the "
            "probe's speed assume the fast one (benchmarks/core_speed.py shows the two speeds)"]


def as_flag(problem: str) -> tuple[str, str]:
    """``(figure, reason)`` of a problem a check found (``"figure: reason"``)."""
    figure, _, reason = problem.partition(":")
    return figure, reason.strip()


def check_peaks(peaks: dict[str, float], theoretical: dict[str, float]) -> list[str]:
    return [f"peak.{d}: {peaks[d] / 1e9:,.0f} GFLOP/s is above twice the {theoretical[d] / 1e9:,.0f} GFLOP/s the "
            "cores, base clock and vector units allow (a timer problem)"
            for d in peaks if d in theoretical and peaks[d] > 2.0 * theoretical[d]]


def check_layer_efficiency(dtype: str, efficiency: float) -> list[str]:
    if efficiency < MIN_LAYER_EFFICIENCY:
        return [f"linear.{dtype}: the large layers reach {efficiency:.0%} of the GEMM peak measured a moment before "
                f"(at least {MIN_LAYER_EFFICIENCY:.0%} expected): measured while the machine was busy?"]
    if efficiency > MAX_LAYER_EFFICIENCY:
        return [f"linear.{dtype}: the large layers run {efficiency:.1f}x the GEMM peak measured a moment before "
                "(the peak was measured in a slow moment?)"]
    return []


def check_runtimes(costs: dict[str, dict], tolerance: float = 0.3e-6) -> list[str]:
    problems = []
    base = costs.get("functional")
    for rt, c in costs.items():
        if base and rt in MODULE_RUNTIMES and c["per_kernel"] < base["per_kernel"] - tolerance:
            problems.append(f"runtime.{rt}: {c['per_kernel'] * 1e6:.2f} µs per kernel is below the functional "
                            f"calls' {base['per_kernel'] * 1e6:.2f} µs (a module call wraps the same operator call)")
        if c["raw_forward"] + 4 * c["raw_per_kernel"] < -0.5e-6:
            problems.append(f"runtime.{rt}: the operators alone measured slower than the whole forward")
    return problems


@dataclass
class Step:
    """One step of ``hw measure``, as kept: its value, the load while it ran, how many attempts, flags."""

    value: Any
    load: StepLoad
    attempts: int
    flags: list[tuple[str, str]] = field(default_factory=list)   # (figure, reason)


#: a step that took longer than this is not measured again only because the machine was busy (it would double the
#: measurement under a load that lasts); an inconsistent one still is
RETRY_LOADED_SECONDS = 10.0


def run_step(figure: str, fn: Callable[[], Any], *, threads: int, cores: int, retries: int, deadline: float,
             check: Callable[[Any], list[str]] | None = None,
             merge: Callable[[list[Any]], Any] | None = None,
             monitor: Callable[[], LoadMonitor] = LoadMonitor) -> Step:
    """Run ``fn`` under a load monitor; measure again (up to ``retries`` times, and none that would end past
    ``deadline``, judged by the attempt just made) while it was oversubscribed (a step shorter than
    :data:`RETRY_LOADED_SECONDS`, once) or ``check`` finds problems. Keeps the first clean attempt, else ``merge`` of
    all the attempts' values (e.g. the quietest value of each table node), else the least disturbed attempt; flags
    what remains (``figure`` for load; a problem names its own figure before its colon)."""
    attempts: list[tuple[Any, StepLoad, list[str], bool]] = []
    for _ in range(retries + 1):
        with monitor() as m:
            value = fn()
        problems = check(value) if check else []
        loaded = m.load.oversubscribed(threads, cores)
        attempts.append((value, m.load, problems, loaded))
        if (not loaded and not problems) or time.perf_counter() + m.load.wall > deadline:
            break  # clean, or another attempt (about as long as this one) would end past the deadline
        if not problems and (m.load.wall > RETRY_LOADED_SECONDS or len(attempts) >= 2):
            break  # busy twice in a row: the machine is loaded, not one burst; a third try would not help
    clean = [a for a in attempts if not a[2] and not a[3]]
    if clean:
        value, load, problems, loaded = clean[0]
    elif merge and len(attempts) > 1:
        value = merge([a[0] for a in attempts])
        load = min((a[1] for a in attempts), key=lambda x: x.others_cores)
        problems = check(value) if check else []
        loaded = all(a[3] for a in attempts)
    else:
        value, load, problems, loaded = min(attempts, key=lambda a: (len(a[2]), a[1].others_cores))
    flags = [as_flag(p) for p in problems]
    if loaded:
        flags.append((figure, f"measured while {load.describe(cores)}, {len(attempts)} time(s); rerun "
                              "`phasm-perf hw measure` when the machine is quiet"))
    return Step(value, load, len(attempts), flags)
