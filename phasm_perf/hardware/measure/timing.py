"""Timing on a shared machine: groups of calls on the right clock, and the machine's load while they ran.

- One thread: the thread's own CPU time (``time.thread_time``): time the OS gave to other processes is not
  counted, so a stolen core does not lengthen a figure (alone, it equals the wall time).
- Several threads: the wall clock, and each group's CPU time of the calling thread (``time.thread_time``)
  against the wall time: a group in which it was descheduled has a low share and is dropped. (Not the CPU time of
  all our threads against ``wall x threads``: a small operator runs on one thread while the others sleep, which
  is no interruption.)
- :class:`LoadMonitor`: what the rest of the machine did while a step ran (``/proc/stat``: CPU time of all other
  processes, runnable processes; the load average), to detect an oversubscribed measurement.
- :class:`SpeedProbe`: how fast the core runs at the moment: a fixed reference call timed in short groups between
  the groups of a measurement (:func:`probing`), so that the speed a figure was measured at is known and a later
  measurement (bench) can be compared at the same speed. Some VMs' cores switch between two speeds every few
  seconds (measured on one: 21.7 and 33 µs for the same forward, interleaved).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

#: a group in which the calling thread's CPU time is below this share of the wall time was interrupted
MIN_SHARE = 0.85


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def clock_for(threads: int) -> Callable[[], float]:
    """The clock of a timed group: this thread's CPU time with one thread, else the wall clock."""
    return time.thread_time if threads <= 1 else time.perf_counter


def time_groups(fn: Callable[[], object], *, seconds: float, threads: int = 1, group_seconds: float = 1e-3,
                min_groups: int = 5, sync: Callable[[], None] | None = None,
                clock: Callable[[], float] | None = None, known: float | None = None) -> tuple[list[float], int]:
    """Seconds per call of ``fn`` in each of several groups (each long enough, ~``group_seconds``, for the clock to
    be exact), within a budget of ``seconds``; and how many groups were dropped as interrupted (several threads:
    the calling thread's CPU share of the wall time below :data:`MIN_SHARE`). Two warm-up calls first, the second
    timed to size the groups; a second call that takes a whole group's time or more (``reps`` 1) is the first group
    (at the largest table nodes one call in five).

    ``known``: seconds per call of the same call measured before (an earlier pass over a table): the groups are
    sized from it, with no warm-up and no sizing call (two of a large node's five calls); a first group slowed by
    cold caches is one of at least ``min_groups``, which their median absorbs."""
    clock = clock or clock_for(threads)
    kept, interrupted, cpu = [], [], time.thread_time

    def group(reps: int) -> float:
        c0, t0 = cpu(), clock()
        for _ in range(reps):
            fn()
        if sync:
            sync()
        dt, dc = clock() - t0, cpu() - c0
        (interrupted if threads > 1 and dt > 0 and dc / dt < MIN_SHARE else kept).append(dt / reps)
        return dt / reps

    if known is not None and known > 0:
        one = known
    else:
        fn()
        if sync:
            sync()
        one = max(group(1), 1e-9)
        if one < group_seconds:  # too short a group for the clock: only sizes the groups
            kept.clear()
            interrupted.clear()
    reps = max(1, int(group_seconds / one))
    groups = max(min_groups, int(seconds / (reps * one))) - len(kept) - len(interrupted)
    probe = _ACTIVE_PROBE.get()
    for _ in range(groups):
        if probe is not None:
            probe.maybe_sample()  # between groups, never inside one
        group(reps)
    if not kept:  # every group interrupted: keep them all (the machine was never free; the caller flags it)
        return interrupted, len(interrupted)
    return kept, len(interrupted)


def best_time(fn: Callable[[], object], *, trials: int, min_seconds: float, sync: Callable[[], None] | None = None,
              clock: Callable[[], float] = time.perf_counter, group_seconds: float = 1e-3,
              quantile: float = 0.0) -> float:
    """Time of one call of ``fn``: the best (by default) or a low quantile over many short groups of calls.

    The budget is ``trials * min_seconds``. On a shared machine a group that was interrupted is slow, and no
    group can be faster than the machine: the best group is its uninterrupted rate (STREAM reports the best of
    its trials for the same reason). Roofs (peaks, bandwidths) use it; the cost tables use the median
    (:func:`median_time`), the statistic the benchmark compares them with."""
    times, _ = time_groups(fn, seconds=trials * min_seconds, group_seconds=group_seconds, sync=sync, clock=clock)
    return lower_quantile(sorted(times), quantile)


def median_time(fn: Callable[[], object], *, seconds: float, threads: int = 1, group_seconds: float = 5e-4,
                min_groups: int = 5, sync: Callable[[], None] | None = None, known: float | None = None) -> float:
    """The median over groups of the time per call, on :func:`clock_for` ``threads`` (``known``: as
    :func:`time_groups`)."""
    times, _ = time_groups(fn, seconds=seconds, threads=threads, group_seconds=group_seconds,
                           min_groups=min_groups, sync=sync, known=known)
    return statistics.median(times)


def lower_quantile(ordered: list[float], f: float) -> float:
    """The value at fraction ``f`` of sorted ``ordered`` (no interpolation: the ``int(f n)``-th, the last at most)."""
    return ordered[min(len(ordered) - 1, int(f * len(ordered)))]


def fit_line(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Least-squares ``y = a + b x``: returns ``(a, b)``."""
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx else 0.0
    return my - b * mx, b


def spread(values: list[float]) -> float:
    """``max / min - 1`` of repeated measurements of one figure (0 for fewer than two)."""
    vals = [v for v in values if v > 0]
    return max(vals) / min(vals) - 1 if len(vals) >= 2 else 0.0


# -------------------------------------------------------------------------------------------------- speed
@dataclass
class SpeedProbe:
    """A fixed reference call (``fn``) timed in groups of ``calls`` on this thread's CPU clock (a core's speed, not
    the scheduler's: time given to other processes is not counted); ``sample()`` times one group and keeps the time
    per call, ``maybe_sample()`` does so when ``every`` seconds passed since the last. The median over groups is
    the statistic both sides compare (:func:`speed_summary`; the same as the per-batch figures). Each group starts
    with ``warm`` untimed calls: between the groups of another measurement the reference's weights and code are
    out of the caches (measured inside ``hw measure`` without them: 70 µs median against 35-49 µs alone)."""

    fn: Callable[[], object]
    calls: int = 8
    warm: int = 2
    every: float = 0.02
    clock: Callable[[], float] = time.thread_time
    samples: list[float] = field(default_factory=list)
    _last: float = -1e9

    def sample(self) -> float:
        for _ in range(self.warm):
            self.fn()
        t0 = self.clock()
        for _ in range(self.calls):
            self.fn()
        dt = (self.clock() - t0) / self.calls
        self.samples.append(dt)
        self._last = time.perf_counter()
        return dt

    def maybe_sample(self) -> None:
        if time.perf_counter() - self._last >= self.every:
            self.sample()


_ACTIVE_PROBE: contextvars.ContextVar[SpeedProbe | None] = contextvars.ContextVar("phasm_speed_probe", default=None)


@contextlib.contextmanager
def probing(probe: SpeedProbe | None):
    """``with probing(p): ...``: every :func:`time_groups` inside the block samples ``p`` between its groups (at most
    one group every ``p.every`` seconds: about 1% of the time for the reference forward)."""
    token = _ACTIVE_PROBE.set(probe)
    try:
        yield probe
    finally:
        _ACTIVE_PROBE.reset(token)


def speed_summary(samples: list[float]) -> dict:
    """``{seconds, p10, p90, samples}`` of a probe's groups: the median and the spread between speeds."""
    s = sorted(samples)
    return {"seconds": statistics.median(s), "p10": lower_quantile(s, 0.1), "p90": lower_quantile(s, 0.9),
            "samples": len(s)}


# --------------------------------------------------------------------------------------------------- load
def read_proc_stat(text: str | None = None) -> tuple[float, float, int]:
    """``(busy, total, procs_running)`` from ``/proc/stat`` text: busy and total CPU time of all CPUs in clock
    ticks (busy: everything but idle and iowait; steal counts as busy, the hypervisor gave the time away)."""
    if text is None:
        try:
            text = Path("/proc/stat").read_text()
        except OSError:
            return 0.0, 0.0, 0
    busy = total = 0.0
    running = 0
    for line in text.splitlines():
        parts = line.split()
        if parts and parts[0] == "cpu":
            vals = [float(v) for v in parts[1:9]]
            total = sum(vals)
            busy = total - vals[3] - (vals[4] if len(vals) > 4 else 0.0)
        elif parts and parts[0] == "procs_running":
            running = int(parts[1])
    return busy, total, running


@dataclass
class StepLoad:
    """The machine while one step ran: wall seconds, our own CPU seconds, the other processes' CPU seconds
    (``others_cores`` = their average number of busy cores), the load average, the most runnable processes
    seen."""

    wall: float
    own_cpu: float
    others_cores: float
    loadavg: float
    procs_running: int

    def oversubscribed(self, threads: int, cores: int, margin: float = 0.25) -> bool:
        """Other processes needed more cores than ours left free: our threads shared cores with them."""
        return self.others_cores > max(0, cores - threads) + margin

    def describe(self, cores: int) -> str:
        return (f"other processes used {self.others_cores:.1f} of {cores} core(s) (load average "
                f"{self.loadavg:.1f}, up to {self.procs_running} runnable)")

    def as_dict(self) -> dict:
        return {"wall": round(self.wall, 3), "own_cpu": round(self.own_cpu, 3),
                "others_cores": round(self.others_cores, 2), "loadavg": round(self.loadavg, 2),
                "procs_running": self.procs_running}


class LoadMonitor:
    """``with LoadMonitor() as m: ...`` then ``m.load``: a :class:`StepLoad` of the block. ``sample()`` inside
    the block records the runnable processes at that moment (``/proc/stat`` is read at the ends anyway)."""

    def __init__(self, stat: Callable[[], tuple[float, float, int]] = read_proc_stat,
                 ticks_per_second: float | None = None) -> None:
        self.stat = stat
        try:
            self.hz = ticks_per_second or float(os.sysconf("SC_CLK_TCK"))
        except (ValueError, OSError, AttributeError):  # pragma: no cover
            self.hz = 100.0
        self.load: StepLoad | None = None
        self._running = 0

    def sample(self) -> None:
        self._running = max(self._running, self.stat()[2])

    def __enter__(self) -> "LoadMonitor":
        self._busy0, _, self._running = self.stat()
        self._cpu0, self._t0 = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        busy1, _, running = self.stat()
        wall = max(time.perf_counter() - self._t0, 1e-9)
        own = time.process_time() - self._cpu0
        others = max(0.0, (busy1 - self._busy0) / self.hz - own)
        try:
            la = os.getloadavg()[0]
        except OSError:  # pragma: no cover
            la = 0.0
        self.load = StepLoad(wall, own, others / wall, la, max(self._running, running))
