"""What each runtime adds to a forward beyond its operators: a fixed cost per forward and a cost per kernel.

For each runtime (eager ``nn.Sequential`` under ``no_grad``, the same under ``inference_mode``, functional calls,
the ``torch.export`` program, ``torch.compile``), MLPs 13 -> 51 x (d - 1) -> 13 at batch 1 of depth d are timed,
and in the same round the operators they run (``F.linear`` and ``relu`` at those shapes, the cost tables'
nodes); the difference is what the runtime adds. A least-squares line over the depths,
``residual = forward + per_kernel (2d - 1)``, gives the two figures. Rounds are interleaved and each point keeps
its median over rounds, so a burst of load does not decide a figure. Without tables (``--no-tables``) the
operators are not subtracted: ``per_kernel`` then includes a tiny kernel's own time, as ``launch_latency`` did.
"""

from __future__ import annotations

import statistics
from contextlib import nullcontext
from typing import Callable

from .options import MeasureOptions
from .timing import fit_line, median_time

D_IN, HIDDEN, D_OUT = 13, 51, 13  # nodes of the cost tables (tables.WIDTHS)


def build_mlp(torch, depth: int, width: int = HIDDEN, d_in: int = D_IN, d_out: int = D_OUT):
    widths = [d_in] + [width] * (depth - 1) + [d_out]
    layers: list = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i < len(widths) - 2:
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers).eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def runtime_callable(torch, runtime: str, net, x) -> tuple[Callable[[], object], object]:
    """``(forward, context)``: the call a program makes in ``runtime``, and the grad mode it runs under."""
    if runtime == "inference":
        return (lambda: net(x)), torch.inference_mode()
    if runtime == "functional":
        F = torch.nn.functional
        params = [(m.weight, m.bias) for m in net if isinstance(m, torch.nn.Linear)]
        last = len(params) - 1

        def forward(x=x):
            for i, (w, b) in enumerate(params):
                x = F.linear(x, w, b)
                if i < last:
                    x = torch.relu(x)
            return x

        return forward, torch.no_grad()
    if runtime == "export":
        batch = torch.export.Dim("batch", min=1, max=1 << 20)
        ep = torch.export.export(net, (torch.randn(4, x.shape[1]),), dynamic_shapes=({0: batch},))
        mod = ep.module()
        return (lambda: mod(x)), torch.no_grad()
    if runtime == "compile":
        compiled = torch.compile(net, dynamic=True)
        return (lambda: compiled(x)), torch.no_grad()
    if runtime == "eager":
        return (lambda: net(x)), torch.no_grad()
    raise ValueError(f"runtime {runtime!r} cannot be measured by hw measure")


def depths_for(runtime: str, quick: bool) -> tuple[int, ...]:
    """Building an exported or compiled program takes seconds: two depths for those, four for the others."""
    if runtime in ("export", "compile") or quick:
        return (1, 3)
    return (1, 2, 3, 4)


def op_seconds(torch, depth: int, threads: int, seconds: float) -> float:
    """The operators of the depth-``depth`` MLP at batch 1, each timed alone (inference mode), summed."""
    F = torch.nn.functional
    x_in, h = torch.randn(1, D_IN), torch.randn(1, HIDDEN)
    w1, b1 = torch.randn(HIDDEN, D_IN), torch.randn(HIDDEN)
    wh, bh = torch.randn(HIDDEN, HIDDEN), torch.randn(HIDDEN)
    wo, bo = torch.randn(D_OUT, HIDDEN), torch.randn(D_OUT)
    if depth == 1:
        w1, b1 = torch.randn(D_OUT, D_IN), torch.randn(D_OUT)
    with torch.inference_mode():
        t = median_time(lambda: F.linear(x_in, w1, b1), seconds=seconds, threads=threads)
        if depth > 1:
            t += (depth - 1) * median_time(lambda: torch.relu(h), seconds=seconds, threads=threads)
            t += (depth - 2) * median_time(lambda: F.linear(h, wh, bh), seconds=seconds, threads=threads)
            t += median_time(lambda: F.linear(h, wo, bo), seconds=seconds, threads=threads)
    return t


def runtime_costs(opts: MeasureOptions, threads: int, runtimes: tuple[str, ...], subtract_ops: bool = True,
                  rounds: int | None = None) -> dict[str, dict]:
    """``{runtime: {forward, per_kernel, points: [[kernels, forward seconds, operators seconds], ...]}}``."""
    import torch

    rounds = rounds or (2 if opts.quick else 3)
    seconds = 0.01 if opts.quick else 0.03
    calls: dict[tuple[str, int], tuple[Callable, object]] = {}
    for rt in runtimes:
        for d in depths_for(rt, opts.quick):
            net = build_mlp(torch, d)
            calls[rt, d] = runtime_callable(torch, rt, net, torch.randn(1, D_IN))
    all_depths = sorted({d for _, d in calls})
    fwd: dict[tuple[str, int], list[float]] = {k: [] for k in calls}
    ops: dict[int, list[float]] = {d: [] for d in all_depths}
    for _ in range(rounds):
        for d in all_depths:
            ops[d].append(op_seconds(torch, d, threads, seconds / 4) if subtract_ops else 0.0)
        for (rt, d), (fn, ctx) in calls.items():
            with ctx or nullcontext():
                fwd[rt, d].append(median_time(fn, seconds=seconds, threads=threads))
    out: dict[str, dict] = {}
    for rt in runtimes:
        pts = [(2 * d - 1, statistics.median(fwd[rt, d]), statistics.median(ops[d]))
               for d in depths_for(rt, opts.quick)]
        a, b = fit_line([k for k, _, _ in pts], [f - o for _, f, o in pts])
        out[rt] = {"forward": max(a, 0.0), "per_kernel": max(b, 0.0), "raw_forward": a, "raw_per_kernel": b,
                   "points": [[k, f, o] for k, f, o in pts],
                   "spread": {str(d): _spread(fwd[rt, d]) for d in depths_for(rt, opts.quick)}}
    return out


def _spread(values: list[float]) -> float:
    return max(values) / min(values) - 1 if len(values) > 1 and min(values) > 0 else 0.0
