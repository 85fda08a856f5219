"""Memory roofs: a STREAM-like triad ``a = b + s c`` (one fused ``torch.add(b, c, alpha=s, out=a)``) over working
sets from a few KB to several times the last-level cache; the cache sizes come from the OS (sysfs), the bandwidth
of each level from the sweep points that fit in it."""

from __future__ import annotations

import math
import statistics

from .options import MeasureOptions
from .timing import best_time

GRAIN = 32768  # PyTorch's intra-op grain: a triad of fewer elements runs on one thread


#: the largest working set swept: a virtual machine can report its host's whole last-level cache (480 MB here),
#: and sweeping 8x that takes minutes; beyond this the rate is main memory's on any machine of this kind
MAX_WORKING_SET = 256 << 20


def triad_sizes(llc_bytes: int, quick: bool) -> list[int]:
    """Working sets (bytes, three fp64 arrays) from 24 KB to 8x the last-level cache (at most 256 MB), one point per
    octave (two without ``quick``; main memory is read from the points beyond 3x the last-level cache, so there are
    usually several). With measured cost tables the memory roofs only classify kernels (memory- or compute-bound) and
    price the dtypes without a table: a coarse sweep is enough."""
    top = min(max(8 * llc_bytes, 64 << 20), MAX_WORKING_SET)
    sizes, ws = [], 24 << 10
    step = 2.0 if quick else 2 ** 0.5
    while ws <= top:
        sizes.append(int(ws) // 24 * 24)
        ws *= step
    return sizes


def triad_bandwidth(ws: int, opts: MeasureOptions, overhead: float, device: str = "cpu") -> tuple[float, float]:
    """``(bytes/s, seconds per triad)`` of ``a = b + 3 c`` on three fp64 arrays totalling ``ws`` bytes.

    The framework's fixed per-call ``overhead`` (a one-element triad) is taken off when the triad takes at least
    three times as long (so the subtraction cannot inflate the rate more than 1.5x); below that the raw rate is
    kept, a lower bound on the cache's bandwidth.
    """
    import torch

    n = max(1, ws // 24)
    a = torch.zeros(n, dtype=torch.float64, device=device)
    b = torch.rand(n, dtype=torch.float64, device=device)
    c = torch.rand(n, dtype=torch.float64, device=device)
    sync = torch.cuda.synchronize if device != "cpu" else None
    t = best_time(lambda: torch.add(b, c, alpha=3.0, out=a), trials=3 if opts.quick else 4,
                  min_seconds=opts.trial_seconds / 3, sync=sync)
    net = t - overhead if t >= 3 * overhead else t
    return 24.0 * n / net, t  # t < 3 overhead: a lower bound (see group_levels)


def call_overhead(opts: MeasureOptions, device: str = "cpu") -> float:
    import torch

    x = torch.zeros(1, dtype=torch.float64, device=device)
    o = torch.zeros(1, dtype=torch.float64, device=device)
    sync = torch.cuda.synchronize if device != "cpu" else None
    return best_time(lambda: torch.add(x, x, alpha=3.0, out=o), trials=5, min_seconds=opts.trial_seconds / 2,
                     sync=sync)


def triad_threads(ws: int, threads: int) -> int:
    """Threads PyTorch gives a triad of ``ws`` bytes (three fp64 arrays): one per 32,768 elements."""
    return max(1, min(threads, math.ceil(ws / 24 / GRAIN)))


def group_levels(sweep: list[tuple[int, float]], caches: list[dict], cores: int,
                 lower_bounds: frozenset[int] = frozenset()) -> tuple[list[dict], list[str]]:
    """Memory levels from the sweep, and the problems found (roofs out of order).

    Each OS-reported cache gets the median bandwidth of the sweep points well inside it (above 1.5x the level
    below, up to 0.75x its own size); main memory the median of the points beyond three times the last-level
    cache. A cache private to each core (``shared_with`` 1) is listed for the ``cores`` the profile is measured
    with (capacity and bandwidth: each point's rate per thread it ran on, times ``cores``) and marked ``private``:
    a kernel on fewer threads sees its share. A shared cache is listed once, as measured. A level measured
    slower than the one behind it (beyond 10%) is a problem: its roof is raised to the next one's and reported,
    unless all its points are ``lower_bounds`` (working sets whose triad is dominated by the per-call overhead,
    which is then not subtracted: a small cache's rate is out of reach of a framework call, not inconsistent).
    """
    levels: list[dict] = []
    prev = 0.0
    for c in caches:
        private = c["shared_with"] == 1
        size = c["size"] * (cores if private else 1)
        inside = [(ws, bw) for ws, bw in sweep if 1.5 * prev < ws <= 0.75 * size] or \
                 [(ws, bw) for ws, bw in sweep if prev < ws <= size]
        if inside:
            if private:
                bw = statistics.median(b / triad_threads(ws, cores) for ws, b in inside) * cores
            else:
                bw = statistics.median(b for _, b in inside)
            levels.append({"name": f"L{c['level']}", "size": float(size), "bandwidth": bw, "points": len(inside),
                           "private": private, "bounded": all(ws in lower_bounds for ws, _ in inside)})
        prev = size
    llc = max((lvl["size"] for lvl in levels), default=0.0)
    pts = [bw for ws, bw in sweep if ws > 3 * llc] or [sweep[-1][1]]
    levels.append({"name": "DRAM", "size": None, "bandwidth": statistics.median(pts), "points": len(pts),
                   "private": False})
    problems = []
    for i in range(len(levels) - 2, -1, -1):  # a faster level can never be slower than the one behind it
        here, behind = levels[i], levels[i + 1]
        if here["bandwidth"] < behind["bandwidth"]:
            if here["bandwidth"] < behind["bandwidth"] / 1.1 and not here.get("bounded"):
                problems.append(f"{here['name']} measured at {here['bandwidth'] / 1e9:.0f} GB/s, slower than "
                                f"{behind['name']} behind it ({behind['bandwidth'] / 1e9:.0f} GB/s)")
            here["bandwidth"] = behind["bandwidth"]
    return levels, problems
