"""Cost tables: what a surrogate's operators take on this machine, measured instead of assumed (as ERT and likwid
measure roofs). ``F.linear(x, W, b)`` over a grid of batch x inputs x outputs, and each activation over element
counts, per dtype, with the threads of the profile; the model interpolates between the nodes
(:mod:`phasm_perf.model.tables`).

The width nodes are not powers of two: a power of two runs about 10% faster than its neighbours (it fills the
vector registers and the BLAS blocking exactly), and a width of 3 modulo 4 about 15% slower than one of 0, so nodes
at 2^k (or at multiples of 64) would make every other width look faster than it is; the nodes mix the residues. Each node is the median over groups of calls (the statistic the benchmark compares with), measured in
two passes; a node whose passes differ by more than 1.5x (the VM's core changed speed, or a burst hit one) is
measured a third time and keeps the two closest of its three; the node keeps their mean (their lower when they still
differ by more than 1.5x), and the spread between the kept passes is recorded. Only those nodes are measured again,
not the table: on the development VM a table's second attempt took 20-40 s and was needed in about half the runs.
"""

from __future__ import annotations

import statistics
from typing import Callable

from .options import MeasureOptions, Progress
from .timing import lower_quantile, median_time

BATCHES = (1, 4, 16, 64, 256, 1024, 4096, 8192)
WIDTHS = (2, 6, 13, 26, 51, 101, 201, 401, 801, 1024)
QUICK_BATCHES = (1, 16, 256, 4096)
QUICK_WIDTHS = (2, 13, 51, 201, 1024)
ELEMENTS = (1, 256, 4096, 16384, 32768, 65536, 131072, 262144, 524288, 1 << 20, 1 << 21, 1 << 22, 1 << 23)
QUICK_ELEMENTS = (1, 4096, 65536, 1 << 20, 1 << 23)
TORCH_DTYPE = {"fp64": "float64", "fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}


#: two passes that differ by more than this factor at a node: a burst hit one of them, which is dropped
BURST = 1.5


def combine(a: float, b: float) -> float:
    """A node's value from its two passes: their mean (what a program's time converges to on a shared machine), or
    the lower when they differ by more than :data:`BURST` (a scheduling stall or a burst of load hit one pass)."""
    lo = min(a, b)
    return lo if lo <= 0 or disagree(a, b) else (a + b) / 2


def activation_fn(torch, kind: str) -> Callable:
    """The out-of-place function ``nn.ReLU``, ``nn.SiLU``, ``nn.Tanh`` and ``nn.GELU`` call."""
    F = torch.nn.functional
    return {"relu": torch.relu, "silu": F.silu, "tanh": torch.tanh, "gelu": F.gelu}[kind]


def node_seconds(opts: MeasureOptions) -> float:
    return 0.002 if opts.quick else 0.004


#: nodes with fewer outputs than this are not measured again with several threads: PyTorch runs them on one (its
#: intra-op grain is 32,768 elements; BLAS libraries do not split smaller products either)
THREADED_FROM = 4096


#: a node whose call takes at least this long (known from the first pass) is timed in two groups in a later pass,
#: not three: one call of it already spans many scheduler ticks, and the node combines two passes anyway
LONG_CALL = 0.02


def later_groups(known: float | None) -> int:
    """Groups per node in a pass: three, two for a call known to take :data:`LONG_CALL` or more."""
    return 2 if known is not None and known >= LONG_CALL else 3


def _linear_pass(F, order, weights, inputs, per_node: float, threads: int, say, label: str,
                 known: dict | None = None) -> dict:
    """Each node's median in ``order``; ``known``: the first pass's figures, which size a later pass's groups
    (no warm-up or sizing calls: at the largest nodes, where a call takes 0.1 s, that was two calls in five).
    ``inputs``: one random tensor whose first ``b * i`` elements are a node's input (contiguous, made once: drawing
    a batch-8192 input per node took 12% of the table's time)."""
    secs: dict[tuple, float] = {}
    for n, (b, i, o) in enumerate(order):
        if n % 100 == 0:
            say(f"{label}, batch {b}", n / max(1, len(order)))
        x = inputs[:b * i].view(b, i)
        w, bias = weights[i, o]
        k = known.get((b, i, o)) if known else None
        secs[b, i, o] = median_time(lambda: F.linear(x, w, bias), seconds=per_node, threads=threads,
                                    min_groups=later_groups(k), known=k)
    return secs


def disagree(a: float, b: float) -> bool:
    """Two passes over a node that differ by more than :data:`BURST`."""
    lo, hi = min(a, b), max(a, b)
    return lo > 0 and hi / lo > BURST


def closest_two(values: list[float]) -> tuple[float, float]:
    """The two of three measurements of a node that lie closest together (in ratio), in their order."""
    pairs = [(values[i], values[j]) for i in range(len(values)) for j in range(i + 1, len(values))]
    return min(pairs, key=lambda p: max(p) / min(p) if min(p) > 0 else float("inf"))


def linear_table(dtype: str, opts: MeasureOptions, threads: int, say: Progress, frac: tuple[float, float]) -> dict:
    """``{batches, inputs, outputs, seconds, passes, again}`` of ``F.linear`` in ``dtype``: two passes over the grid
    on one thread (the second in reverse order, a moment and an allocator history later), the nodes where they
    :func:`disagree` measured a third time (``again`` of them; each keeps its :func:`closest_two`), each node
    :func:`combine` of its two kept medians; ``passes`` holds them, and their spread is recorded (and checked:
    :func:`check_passes`).

    With several threads (thread-aware): the nodes with at least :data:`THREADED_FROM` outputs are measured again
    with all of them, and keep the faster of the two; the smaller ones run on one thread in PyTorch anyway. On a
    shared machine a multi-threaded operator waits for every core it was given (a descheduled thread stalls the
    others at the next barrier, for milliseconds): the one-thread figure, on the thread's CPU clock, is the bound
    such a stall cannot spoil."""
    import torch

    tdt = getattr(torch, TORCH_DTYPE[dtype])
    F = torch.nn.functional
    batches, widths = (QUICK_BATCHES, QUICK_WIDTHS) if opts.quick else (BATCHES, WIDTHS)
    gen = torch.Generator().manual_seed(0)
    weights = {(i, o): (torch.randn(o, i, generator=gen).to(tdt), torch.randn(o, generator=gen).to(tdt))
               for i in widths for o in widths}
    inputs = torch.randn(max(batches) * max(widths), generator=gen).to(tdt)
    per_node = node_seconds(opts) / 2
    nodes = [(b, i, o) for b in batches for i in widths for o in widths]
    span = frac[1] - frac[0]
    stage = lambda k, n: lambda what, f: say(what, frac[0] + span * (k + f) / n)  # noqa: E731
    parts = 4 if threads > 1 else 3
    with torch.inference_mode():
        torch.set_num_threads(1)
        try:
            first = _linear_pass(F, nodes, weights, inputs, per_node, 1, stage(0, parts), f"F.linear {dtype}, pass 1")
            second = _linear_pass(F, nodes[::-1], weights, inputs, per_node, 1, stage(1, parts),
                                  f"F.linear {dtype}, pass 2", known=first)
            again = [n for n in nodes if disagree(first[n], second[n])]
            third = _linear_pass(F, again, weights, inputs, per_node, 1, stage(2, parts),
                                 f"F.linear {dtype}, {len(again)} node(s) again", known=first)
        finally:
            torch.set_num_threads(threads)
        for n, t in third.items():
            first[n], second[n] = closest_two([first[n], second[n], t])
        passes = [first, second]
        one = [combine(first[n], second[n]) for n in nodes]
        seconds = one
        if threads > 1:
            big = [n for n in nodes if n[0] * n[2] >= THREADED_FROM]
            many = _linear_pass(F, big, weights, inputs, per_node, threads, stage(3, parts),
                                f"F.linear {dtype}, {threads} threads", known=first)
            seconds = [min(t, many.get(n, t)) for n, t in zip(nodes, one)]
    return {"batches": list(batches), "inputs": list(widths), "outputs": list(widths), "seconds": seconds,
            "passes": [[p[n] for n in nodes] for p in passes], "again": len(again)}


def activation_table(dtype: str, opts: MeasureOptions, threads: int, say: Progress,
                     frac: tuple[float, float]) -> dict:
    """``{elements, seconds: {kind: [...]}}``: each activation, out of place, over element counts; two passes on
    one thread, each node :func:`combine` of its two medians; with several threads the nodes from 32,768 elements
    (PyTorch's grain) measured again with all of them, keeping the faster (as :func:`linear_table`)."""
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
            torch.set_num_threads(1)
            try:
                row = [[median_time(lambda: fn(xs[n]), seconds=per_node, threads=1, min_groups=3) for n in order]
                       for order in (elements, elements[::-1])]
            finally:
                torch.set_num_threads(threads)
            one = [combine(a, b) for a, b in zip(row[0], row[1][::-1])]
            if threads > 1:
                one = [min(t, median_time(lambda: fn(xs[n]), seconds=per_node, threads=threads, min_groups=3))
                       if n >= 32768 else t for n, t in zip(elements, one)]
            out[kind] = one
    return {"elements": list(elements), "seconds": out}


def table_spread(passes: list[list[float]]) -> dict:
    """How far the two passes over a table's nodes differ: the median and the 90th percentile of
    ``|a - b| / min(a, b)``."""
    diffs = sorted(abs(b - a) / min(a, b) for a, b in zip(*passes) if min(a, b) > 0)
    if not diffs:
        return {"median": 0.0, "p90": 0.0}
    return {"median": statistics.median(diffs), "p90": lower_quantile(diffs, 0.9)}


def check_passes(dtype: str, table: dict, limit: float = 0.5) -> list[str]:
    """A table whose two passes differ by more than ``limit`` on a tenth of its nodes was measured while the
    machine's speed kept changing."""
    sp = table_spread(table["passes"])
    if sp["p90"] > limit:
        return [f"linear.{dtype}: the two passes over the table differ by more than {sp['p90']:.0%} on a tenth of "
                f"its nodes (median {sp['median']:.0%}): the machine's speed kept changing"]
    return []


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
