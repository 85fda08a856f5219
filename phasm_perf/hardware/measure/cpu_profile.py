"""``hw measure`` on the CPU: the steps in order, each under a load monitor and checked, then the profile."""

from __future__ import annotations

import datetime as _dt
import statistics
import time
from dataclasses import dataclass, field

from .bandwidth import call_overhead, group_levels, triad_bandwidth, triad_sizes
from .checks import Step, check_layer_efficiency, check_peaks, check_runtimes, run_step
from .cpu import cpu_caches, cpu_info, flops_per_cycle
from .dispatch import runtime_costs
from .gemm import gemm_peaks
from .in_program import in_program_cost
from .options import MeasureOptions, Progress
from .probe import speed_probe
from .tables import activation_table, check_passes, fresh_pages, layer_efficiency, linear_table
from .timing import probing, speed_summary, usable_cores


@dataclass
class Context:
    opts: MeasureOptions
    say: Progress
    threads: int
    cores: int
    deadline: float
    steps: dict[str, Step] = field(default_factory=dict)

    def step(self, figure: str, fn, check=None, merge=None) -> Step:
        s = run_step(figure, fn, threads=self.threads, cores=self.cores, retries=self.opts.retries,
                     deadline=self.deadline, check=check, merge=merge)
        self.steps[figure] = s
        return s


def _merge_tables(tables: list[dict]) -> dict:
    """The quietest value of each node over several attempts (their passes: the two quietest)."""
    out = dict(tables[0])
    out["seconds"] = [min(vals) for vals in zip(*(t["seconds"] for t in tables))]
    runs = [sorted(vals) for vals in zip(*(p for t in tables for p in t["passes"]))]
    out["passes"] = [[r[0] for r in runs], [r[1] for r in runs]]
    out["again"] = sum(t["again"] for t in tables)
    return out


def _theoretical(info: dict, cores: int) -> dict[str, float]:
    return {d: cores * info["mhz"] * 1e6 * fpc for d in ("fp64", "fp32", "bf16", "fp16")
            if info["mhz"] and (fpc := flops_per_cycle(info, d))}


def _memory(ctx: Context, caches: list[dict]) -> tuple[list[dict], list[tuple[int, float]], float]:
    llc = max((c["size"] for c in caches), default=32 << 20)
    sizes = triad_sizes(llc, ctx.opts.quick)

    def sweep():
        overhead = call_overhead(ctx.opts)
        out, bounded = [], set()
        for k, ws in enumerate(sizes):
            ctx.say(f"triad {ws / 1024:,.0f} KB", 0.1 + 0.1 * k / len(sizes))
            bw, t = triad_bandwidth(ws, ctx.opts, overhead)
            out.append((ws, bw))
            if t < 3 * overhead:
                bounded.add(ws)
        return out, overhead, frozenset(bounded)

    def problems(v) -> list[str]:
        return [f"memory: {p}" for p in group_levels(v[0], caches, ctx.threads, v[2])[1]]

    points, overhead, bounded = ctx.step("memory", sweep, check=problems).value
    levels, _ = group_levels(points, caches, ctx.threads, bounded)
    return levels, points, overhead


def _tables(ctx: Context, peaks: dict[str, float]) -> tuple[dict, dict]:
    linear, act = {}, {}
    dts = [d for d in ctx.opts.dtypes if d in peaks]
    for k, dt in enumerate(dts):
        span = (0.2 + 0.55 * k / len(dts), 0.2 + 0.55 * (k + 0.8) / len(dts))
        s = ctx.step(f"linear.{dt}", lambda: linear_table(dt, ctx.opts, ctx.threads, ctx.say, span),
                     check=lambda t: check_layer_efficiency(dt, layer_efficiency(t, peaks[dt])) + check_passes(dt, t),
                     merge=_merge_tables)
        linear[dt] = s.value
        span = (span[1], 0.2 + 0.55 * (k + 1) / len(dts))
        act[dt] = ctx.step(f"activation.{dt}", lambda: activation_table(dt, ctx.opts, ctx.threads, ctx.say,
                                                                         span)).value
    return linear, act


def run_steps(opts: MeasureOptions, say: Progress, threads: int) -> dict:
    """Every step's value, in a dict the profile is assembled from."""
    started = time.perf_counter()
    ctx = Context(opts, say, threads, usable_cores(), started + opts.budget_seconds)
    info, caches = cpu_info(), cpu_caches()
    theoretical = _theoretical(info, threads)
    peaks, peak_n, numpy_peaks = ctx.step("peak", lambda: gemm_peaks(opts, say),
                                          check=lambda v: check_peaks(v[0], theoretical)).value
    levels, sweep, overhead = _memory(ctx, caches)
    # the steps whose figures a surrogate's prediction is made of run with the speed probe between their groups: the
    # profile records how fast the core ran while they were measured (bench compares its own moment with it)
    probe = speed_probe()
    with probing(probe):
        linear, act = _tables(ctx, peaks) if opts.tables else ({}, {})
        say("fresh pages", 0.76)
        fresh = ctx.step("fresh_pages", lambda: fresh_pages(opts, threads)).value if opts.tables else None
        say("runtimes: " + ", ".join(opts.runtimes), 0.78)
        rts = ctx.step("runtime", lambda: runtime_costs(opts, threads, opts.runtimes, subtract_ops=bool(linear)),
                       check=check_runtimes).value
        say("in-program call (cold caches, marshalling)", 0.9)
        # the program's own work between two calls is assumed to touch half the core's private cache: on the
        # development VM the cold extra is 1-3 us up to 1 MB swept, 41 us at 2 MB (its L2) and 74 us at 4 MB, and the
        # examples pay 7-17 us in all beyond the tight loop (cold caches, marshalling, the swapped-in call itself)
        private = max((c["size"] for c in caches if c["shared_with"] == 1), default=1 << 20)
        prog = ctx.step("in_program", lambda: in_program_cost(opts, private // 2, threads)).value
    say("done", 1.0)
    return {"info": info, "caches": caches, "theoretical": theoretical, "peaks": peaks, "peak_n": peak_n,
            "numpy_peaks": numpy_peaks, "levels": levels, "sweep": sweep, "overhead": overhead, "linear": linear,
            "activation": act, "fresh_pages": fresh, "runtimes": rts, "in_program": prog, "steps": ctx.steps,
            "probe": speed_summary(probe.samples) if probe.samples else None, "threads": threads,
            "seconds": time.perf_counter() - started,
            "stamp": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def achievable_compute(r: dict) -> tuple[float, str]:
    """The roofline's efficiency for the dtypes without a table: the median FLOP/s of MLP-shaped fp32 layers
    (batch 1024, square widths near 100-400) over the square-GEMM peak."""
    t, peak = r["linear"].get("fp32"), r["peaks"]["fp32"]
    if not t or 1024 not in t["batches"]:
        return 1.0, "1: no fp32 layer table to take it from"
    b, ni, no = t["batches"].index(1024), len(t["inputs"]), len(t["outputs"])
    rates = {w: 2.0 * 1024 * w * w / t["seconds"][(b * ni + i) * no + i]
             for i, w in enumerate(t["inputs"]) if 90 <= w <= 400}
    eff = min(1.0, statistics.median(rates.values()) / peak) if rates else 1.0
    return eff, ("median FLOP/s of square fp32 layers at batch 1024 (widths " + "/".join(map(str, rates)) + ": "
                 + ", ".join(f"{v / 1e9:.1f}" for v in rates.values()) + " GFLOP/s) over the square-GEMM peak")
