"""What a forward costs inside a program beyond the same forward in a tight loop.

- Cold caches: an MLP ``8 -> h -> h -> 8`` (fp32, batch 1, eager under ``no_grad``, as bench swaps it in) called
  one call at a time; before each timed call a buffer of half the core's private cache is swept (read and
  written, as a program's own work between two calls would; the sweep is not timed: the assumption), then the same
  forward is timed again with warm caches.
  The median of the paired differences (a pair shares the machine's state, so a slow moment cancels out) is the
  cold-cache cost; it grows with the weights the forward reads back (at h = 64, 256, 512: 0.02, 0.27, 1.06 MB),
  so a line ``cold = cold_cache + W cold_cache_per_byte`` is fitted over the three.
- Marshalling: the arguments as a tuple of Python floats into the input tensor and the result back to a tuple of
  Python floats, through :mod:`phasm_perf.core.marshal` (the code bench's swapped-in function runs), median in a
  tight loop; each further number of a batched conversion (256 rows against 1), with Python floats and with numpy
  scalars.
"""

from __future__ import annotations

import statistics
import time

from .options import MeasureOptions
from .timing import best_time, clock_for, fit_line

HIDDEN = (64, 256, 512)
INPUTS = OUTPUTS = 8


def _net(torch, hidden: int):
    net = torch.nn.Sequential(torch.nn.Linear(INPUTS, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, hidden),
                              torch.nn.ReLU(), torch.nn.Linear(hidden, OUTPUTS)).eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def cold_pairs(torch, np, hidden: int, sweep, calls: int, threads: int) -> list[tuple[float, float]]:
    """``[(cold, warm)]`` seconds of single forwards, each cold one after an untimed sweep of ``sweep``."""
    net = _net(torch, hidden)
    x = torch.zeros(1, INPUTS)
    clock = clock_for(threads)
    pairs = []
    with torch.no_grad():
        for _ in range(5):
            net(x)
        for _ in range(calls):
            np.add(sweep, 1, out=sweep)
            t0 = clock()
            net(x)
            cold = clock() - t0
            net(x)  # the same forward again, caches warm: the tight-loop time under the same conditions
            net(x)
            t0 = clock()
            net(x)
            pairs.append((cold, clock() - t0))
    return pairs


def cold_cache(opts: MeasureOptions, sweep_bytes: int, threads: int) -> dict:
    """``{cold_cache, cold_cache_per_byte, points: [[weight bytes, cold extra, warm]], ...}``."""
    import numpy as np
    import torch

    sweep = np.zeros(int(sweep_bytes), dtype=np.uint8)
    calls = 20 if opts.quick else 80
    pts = []
    for h in HIDDEN:
        pairs = cold_pairs(torch, np, h, sweep, calls, threads)
        weights = 4.0 * (INPUTS * h + h + h * h + h + h * OUTPUTS + OUTPUTS)
        pts.append([weights, max(0.0, statistics.median(c - w for c, w in pairs)),
                    statistics.median(w for _, w in pairs)])
    a, b = fit_line([p[0] for p in pts], [p[1] for p in pts])
    if a < 0 or b < 0:  # a line through noise: the smallest net's figure, flat
        a, b = pts[0][1], 0.0
    return {"cold_cache": a, "cold_cache_per_byte": b, "points": pts, "sweep_bytes": int(sweep_bytes),
            "calls": calls}


def marshal_costs(opts: MeasureOptions) -> dict:
    """``{marshal, marshal_per_number, marshal_per_numpy_number, marshal_256_rows}`` (seconds)."""
    import numpy as np
    import torch

    from ...core.marshal import result_converter, rows_to_tensor  # the code the swapped-in function runs

    net = _net(torch, 64)
    bufs: dict = {}
    rows = [tuple(0.1 * (i + j) for i in range(INPUTS)) for j in range(256)]
    np_rows = [tuple(np.float64(v) for v in r) for r in rows]
    with torch.no_grad():
        y_b = net(torch.zeros(len(rows), INPUTS))
    y_flat = y_b.reshape(-1)
    to_results = result_converter({"kind": "tuple", "items": [{"kind": "float"}] * OUTPUTS}, tuple)
    to_np_results = result_converter({"kind": "float", "np": "float64"}, float)

    def rows_fn(k: int, numpy_scalars: bool):
        r_k = (np_rows if numpy_scalars else rows)[:k]
        y_k = y_flat[:k * OUTPUTS] if numpy_scalars else y_b[:k]
        convert = to_np_results if numpy_scalars else to_results

        def go():
            rows_to_tensor(r_k, INPUTS, "float32", bufs, torch.from_numpy)
            return convert(y_k)
        return go

    secs = 0.01 if opts.quick else 0.03
    t = {(k, n): best_time(rows_fn(k, n), trials=3, min_seconds=secs, quantile=0.5)
         for k in (1, 256) for n in (False, True)}
    per = 255 * (INPUTS + OUTPUTS)
    return {"marshal": t[1, False], "marshal_per_number": max(0.0, (t[256, False] - t[1, False]) / per),
            "marshal_per_numpy_number": max(0.0, (t[256, True] - t[1, True]) / per),
            "marshal_256_rows": t[256, False]}


def in_program_cost(opts: MeasureOptions, sweep_bytes: int, threads: int = 1) -> dict:
    """Cold caches and marshalling, in rounds (one with ``quick``): the quietest round (lowest warm forward) is
    kept, as a slow moment doubles the cold-cache difference with everything else."""
    started = time.perf_counter()
    rounds = [dict(cold_cache(opts, sweep_bytes, threads), **marshal_costs(opts))
              for _ in range(1 if opts.quick else 2)]
    best = min(rounds, key=lambda r: r["points"][0][2])
    return dict(best, rounds=[{k: r[k] for k in ("cold_cache", "cold_cache_per_byte", "marshal",
                                                 "marshal_per_number")} for r in rounds],
                seconds=round(time.perf_counter() - started, 2))
