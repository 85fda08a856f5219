"""Cost tables: what a surrogate's operators take on this machine, measured instead of assumed (as ERT and likwid
measure roofs). ``F.linear(x, W, b)`` over a grid of batch x inputs x outputs, and each activation over element
counts, per dtype, with the threads of the profile; the model interpolates between the nodes
(:mod:`phasm_perf.model.tables`).

The width nodes are not powers of two: a power of two runs about 10% faster than its neighbours (it fills the
vector registers and the BLAS blocking exactly), and a width of 3 modulo 4 about 15% slower than one of 0, so nodes
at 2^k (or at multiples of 64) would make every other width look faster than it is; the nodes mix the residues. Each node is the median over groups of calls (the statistic the benchmark compares with), measured in
two passes; the node keeps their mean, and the spread between the passes is recorded.
"""

from __future__ import annotations

import statistics
from typing import Callable

from .options import MeasureOptions, Progress
from .timing import median_time

BATCHES = (1, 4, 16, 64, 256, 1024, 4096, 8192)
WIDTHS = (2, 6, 13, 26, 51, 101, 201, 401, 801, 1024)
QUICK_BATCHES = (1, 16, 256, 4096)
QUICK_WIDTHS = (2, 13, 51, 201, 1024)
ELEMENTS = (1, 256, 4096, 16384, 32768, 65536, 131072, 262144, 524288, 1 << 20, 1 << 21, 1 << 22, 1 << 23)
QUICK_ELEMENTS = (1, 4096, 65536, 1 << 20, 1 << 23)
TORCH_DTYPE = {"fp64": "float64", "fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}


def activation_fn(torch, kind: str) -> Callable:
    """The out-of-place function ``nn.ReLU``, ``nn.SiLU``, ``nn.Tanh`` and ``nn.GELU`` call."""
    F = torch.nn.functional
    return {"relu": torch.relu, "silu": F.silu, "tanh": torch.tanh, "gelu": F.gelu}[kind]


def node_seconds(opts: MeasureOptions) -> float:
    return 0.002 if opts.quick else 0.004


def linear_table(dtype: str, opts: MeasureOptions, threads: int, say: Progress, frac: tuple[float, float]) -> dict:
    """``{batches, inputs, outputs, seconds, passes}`` of ``F.linear`` in ``dtype``: two passes over the grid (the
    second in reverse order, a moment and an allocator history later), each node the mean of its two medians (the
    statistic a program's time converges to on a shared machine; the lower of the two would be the quiet tail
    only); ``passes`` holds both, and their spread is recorded."""
    import torch

    tdt = getattr(torch, TORCH_DTYPE[dtype])
    F = torch.nn.functional
    batches, widths = (QUICK_BATCHES, QUICK_WIDTHS) if opts.quick else (BATCHES, WIDTHS)
    gen = torch.Generator().manual_seed(0)
    weights = {(i, o): (torch.randn(o, i, generator=gen).to(tdt), torch.randn(o, generator=gen).to(tdt))
               for i in widths for o in widths}
    per_node = node_seconds(opts) / 2
    nodes = [(b, i, o) for b in batches for i in widths for o in widths]
    passes: list[list[float]] = []
    with torch.inference_mode():
        for k, order in enumerate((nodes, nodes[::-1])):
            secs: dict[tuple, float] = {}
            for n, (b, i, o) in enumerate(order):
                if n % (len(widths) ** 2) == 0:
                    say(f"F.linear {dtype}, pass {k + 1}, batch {b}",
                        frac[0] + (frac[1] - frac[0]) * (k + n / len(order)) / 2)
                x = torch.randn(b, i, generator=gen).to(tdt)
                w, bias = weights[i, o]
                secs[b, i, o] = median_time(lambda: F.linear(x, w, bias), seconds=per_node, threads=threads,
                                            min_groups=3)
            passes.append([secs[node] for node in nodes])
    return {"batches": list(batches), "inputs": list(widths), "outputs": list(widths),
            "seconds": [(a + b) / 2 for a, b in zip(*passes)], "passes": passes}


def activation_table(dtype: str, opts: MeasureOptions, threads: int, say: Progress,
                     frac: tuple[float, float]) -> dict:
    """``{elements, seconds: {kind: [...]}}``: each activation, out of place, over element counts; two passes,
    each node the mean of its two medians."""
    import torch

    tdt = getattr(torch, TORCH_DTYPE[dtype])
    elements = QUICK_ELEMENTS if opts.quick else ELEMENTS
    out: dict[str, list[float]] = {}
    per_node = node_seconds(opts) / 2
    with torch.inference_mode():
        xs = {n: torch.randn(int(n)).to(tdt) for n in elements}
        for k, kind in enumerate(opts.activations):
            say(f"{kind} {dtype}", frac[0] + (frac[1] - frac[0]) * k / len(opts.activations))
            fn = activation_fn(torch, kind)
            row = [[median_time(lambda: fn(xs[n]), seconds=per_node, threads=threads, min_groups=3)
                    for n in order] for order in (elements, elements[::-1])]
            out[kind] = [(a + b) / 2 for a, b in zip(row[0], row[1][::-1])]
    return {"elements": list(elements), "seconds": out}


def table_spread(passes: list[list[float]]) -> dict:
    """How far the two passes over a table's nodes differ: the median and the 90th percentile of
    ``|a - b| / min(a, b)``."""
    diffs = sorted(abs(b - a) / min(a, b) for a, b in zip(*passes) if min(a, b) > 0)
    if not diffs:
        return {"median": 0.0, "p90": 0.0}
    return {"median": statistics.median(diffs), "p90": diffs[min(len(diffs) - 1, int(0.9 * len(diffs)))]}


def layer_efficiency(table: dict, peak: float) -> float:
    """The best FLOP/s the table reaches at its large nodes (batch >= 1024, widths >= 384) over the square-GEMM
    ``peak``: a layer cannot beat a large GEMM by much, and should not fall far below it."""
    nb, ni, no = len(table["batches"]), len(table["inputs"]), len(table["outputs"])
    best = 0.0
    for b in range(nb):
        for i in range(ni):
            for o in range(no):
                B, K, N = table["batches"][b], table["inputs"][i], table["outputs"][o]
                if B >= 1024 and K >= 384 and N >= 384:
                    t = table["seconds"][(b * ni + i) * no + o]
                    best = max(best, 2.0 * B * K * N / t if t > 0 else 0.0)
    return best / peak if peak > 0 else 0.0



#: glibc's largest dynamic mmap threshold on 64-bit (32 MiB, malloc(3) M_MMAP_THRESHOLD: DEFAULT_MMAP_THRESHOLD_MAX):
#: a block this large is always mmapped, and unmapped when freed, so each one is fresh memory whose pages fault and
#: are zeroed. Smaller blocks may be fresh too (a freed heap top over the trim threshold goes back to the OS), but
#: whether they are depends on what the process allocated before: measured here on the same MLP, 0.7 ms in one
#: process and 1.7 ms in another; the model charges the certain part only.
FRESH_FROM_BYTES = 32 << 20
FRESH_PROBE_BYTES = 64 << 20  # above glibc's largest dynamic mmap threshold (32 MiB): always fresh pages


def fresh_pages(opts: MeasureOptions, threads: int) -> dict:
    """Seconds per byte of writing memory that comes fresh from the OS (page faults, zeroing) beyond writing
    memory already mapped: ``torch.empty(n).fill_(1)`` of 64 MB against ``fill_(1)`` of a kept buffer."""
    import torch

    n = FRESH_PROBE_BYTES
    kept = torch.empty(n, dtype=torch.uint8)
    secs = 0.1 if opts.quick else 0.3
    fresh = median_time(lambda: torch.empty(n, dtype=torch.uint8).fill_(1), seconds=secs, threads=threads,
                        min_groups=5)
    reused = median_time(lambda: kept.fill_(1), seconds=secs, threads=threads, min_groups=5)
    return {"seconds_per_byte": max(0.0, (fresh - reused) / n), "from_bytes": FRESH_FROM_BYTES,
            "fresh": fresh, "reused": reused, "bytes": n}
