"""Model vs reality on this CPU: predicted time per batch against PyTorch's measured time, on two seeded grids.

Two grids of random MLPs (seeded): a *tuning* grid, the one the model was developed against, and a *validation*
grid, never used for tuning. Shapes: widths 2-1024 drawn log-uniformly, narrow first and last layers (2-8) half
the time, 1-4 hidden layers, a random activation; batches 1-8192 drawn log-uniformly; fp32 and bf16. Each grid is
measured with one thread (against a profile measured with ``hw measure --threads 1``) and with the default thread
count (against ``local``), in each runtime that runs here (eager ``nn.Module`` under no_grad, the same under
inference_mode, functional calls, the torch.export program; ``torch.compile`` with ``--runtimes ...,compile``).

Each point is measured as the profile's tables are, by the same statistic: the median over groups of calls (one
thread: the thread's CPU time, so time given to other processes is not counted; several threads: the wall clock,
groups where our threads did not all run dropped). Points are visited in a shuffled order in ``--rounds`` rounds
and keep the median over rounds; each visit records the machine's load (``/proc/stat``: other processes' CPU, the
load average). The model's prediction is computed beside each point in the same run. The machine's own noise
floor is measured too: a few points measured many times.

Reported per grid, thread setting, runtime and approach: signed median error (predicted / measured - 1), median
|error|, 90th percentile, worst, and the same over the points measured while the machine was quiet. Two
approaches are compared on the same measurements: ``tables`` (the profile's measured cost tables),
``roofline`` (the previous model: one achievable efficiency for every layer shape), and ``calibrated`` (the
tables scaled by how fast the machine is at each visit: an ``F.linear`` probe timed just before the point, over
the profile's value for it; the calibration idea of the issue), and with ``--compare-1`` / ``--compare-n``
``compared`` (the tables of a second profile: two ways of measuring or reading the tables against the same timings).

    .venv/bin/python benchmarks/model_vs_measured.py                           # full run, about 12 minutes
    .venv/bin/python benchmarks/model_vs_measured.py --grid tuning --quick     # a smoke run
    .venv/bin/python benchmarks/model_vs_measured.py --measure                 # measure both profiles first
    .venv/bin/python benchmarks/model_vs_measured.py --json out.json --plot playbook/img/model_vs_measured.png
    .venv/bin/python benchmarks/model_vs_measured.py --profile-n A.yaml --compare-n B.yaml --threads n   # A/B

Performance claims are this script's numbers, never test asserts.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch

from phasm_perf.core.errors import PhasmError
from phasm_perf.hardware import load_file, resolve
from phasm_perf.hardware.measure import MeasureOptions, measure_and_save
from phasm_perf.hardware.measure.tables import activation_fn
from phasm_perf.hardware.measure.timing import LoadMonitor, time_groups, usable_cores
from phasm_perf.model.surrogate import MLP, predict_batch

SEEDS = {"tuning": 16, "validation": 20261202}
PROFILE_DIR = Path(os.environ.get("PHASM_MODEL_VS_MEASURED_DIR", "/tmp/phasm-model-vs-measured"))
TORCH_DTYPE = {"fp32": torch.float32, "bf16": torch.bfloat16}


@dataclass
class Point:
    grid: str
    widths: tuple[int, ...]
    batch: int
    dtype: str
    activation: str
    threads: int
    runtime: str
    predicted: dict = field(default_factory=dict)    # approach -> seconds
    measured: list[float] = field(default_factory=list)
    loads: list[float] = field(default_factory=list)  # other processes' cores during each visit
    speed: list[dict] = field(default_factory=list)  # probes now / in the profile, per regime, at each visit

    @property
    def label(self) -> str:
        return f"{'-'.join(map(str, self.widths))} {self.activation} {self.dtype} B={self.batch}"

    def median(self, quiet_only: bool = False, quiet: float = 0.5) -> float | None:
        vals = [m for m, ld in zip(self.measured, self.loads) if not quiet_only or ld <= quiet]
        return statistics.median(vals) if vals else None


def random_mlp(rng: random.Random, k: int) -> tuple[tuple[int, ...], str, str]:
    """The ``k``-th random MLP of a grid: (widths, activation, dtype); widths 2-1024 log-uniformly, the first and last
    narrow (2-8) half of the time, 1-4 hidden layers; fp32 and bf16 alternately."""
    def wide() -> int:
        return int(round(math.exp(rng.uniform(math.log(2), math.log(1024)))))

    d_in = rng.randint(2, 8) if rng.random() < 0.5 else wide()
    d_out = rng.randint(2, 8) if rng.random() < 0.5 else wide()
    hidden = [wide() for _ in range(rng.randint(1, 4))]
    act = rng.choice(["relu", "relu", "tanh", "silu", "gelu"])
    return (d_in, *hidden, d_out), act, "fp32" if k % 2 == 0 else "bf16"


def shapes(grid: str, n: int) -> list[tuple[tuple[int, ...], str, str, list[int]]]:
    """``n`` seeded random MLPs: (widths, activation, dtype, batches)."""
    rng = random.Random(SEEDS[grid])
    out = []
    for k in range(n):
        widths, act, dtype = random_mlp(rng, k)
        batches = sorted({int(round(math.exp(rng.uniform(0, math.log(8192))))) for _ in range(3)})
        out.append((widths, act, dtype, batches))
    return out


def build(widths, activation: str, dtype: str) -> torch.nn.Module:
    acts = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "silu": torch.nn.SiLU, "gelu": torch.nn.GELU}
    layers: list = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i < len(widths) - 2:
            layers.append(acts[activation]())
    net = torch.nn.Sequential(*layers).eval().to(TORCH_DTYPE[dtype])
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def runtime_of(runtime: str, net, activation: str, d_in: int):
    """``(call(x), grad mode)``: how a program calls the net in ``runtime`` (built once per shape; an exported or
    compiled program takes any batch)."""
    if runtime == "functional":
        act = activation_fn(torch, activation)
        params = [(m.weight, m.bias) for m in net if isinstance(m, torch.nn.Linear)]

        def fwd(x):
            for i, (w, b) in enumerate(params):
                x = torch.nn.functional.linear(x, w, b)
                if i < len(params) - 1:
                    x = act(x)
            return x
        return fwd, torch.no_grad()
    if runtime == "export":
        batch = torch.export.Dim("batch", min=1, max=1 << 16)
        x = torch.randn(4, d_in).to(next(net.parameters()).dtype)
        return torch.export.export(net, (x,), dynamic_shapes=({0: batch},)).module(), torch.no_grad()
    if runtime == "compile":
        return torch.compile(net, dynamic=True), torch.no_grad()
    return net, (torch.inference_mode() if runtime == "inference" else torch.no_grad())


def measure_point(fn, ctx, threads: int, seconds: float) -> tuple[float, float]:
    """``(median seconds per forward, other processes' cores while it ran)``."""
    torch.set_num_threads(threads)
    with LoadMonitor() as mon, ctx:
        times, _ = time_groups(fn, seconds=seconds, threads=threads, group_seconds=5e-4, min_groups=5)
    return statistics.median(times), mon.load.others_cores


def probe(threads: int, dtype: str, profile) -> dict:
    """How fast the machine is right now against when the profile was measured, per regime: a tiny ``F.linear``
    (the fixed costs: batch 1, 13 -> 51), a mid-sized one (compute: batch 256, 101 -> 101) and an activation on 1M
    elements (memory), each timed now over its value in the profile's tables (the calibration idea of issue 16)."""
    tdt = TORCH_DTYPE[dtype]
    dev = profile.device(dtype)
    torch.set_num_threads(threads)
    out = {}
    with torch.inference_mode():
        for name, (b, i, o) in (("latency", (1, 13, 51)), ("compute", (256, 101, 101))):
            x, w, bias = torch.randn(b, i).to(tdt), torch.randn(o, i).to(tdt), torch.randn(o).to(tdt)
            times, _ = time_groups(lambda: torch.nn.functional.linear(x, w, bias), seconds=0.003, threads=threads,
                                   group_seconds=5e-4, min_groups=3)
            out[name] = statistics.median(times) / dev.linear_table(b, i, o)
        x = torch.randn(1 << 20).to(tdt)
        times, _ = time_groups(lambda: torch.relu(x), seconds=0.003, threads=threads, group_seconds=5e-4,
                               min_groups=3)
        out["memory"] = statistics.median(times) / dev.activation_tables["relu"](1 << 20)
    return out


def predictions(profile, p: Point) -> dict:
    mlp = MLP(p.widths)
    dev = profile.device(p.dtype, p.runtime)
    bp = predict_batch(mlp, p.batch, dev, activation=p.activation)
    out = {"tables": bp.seconds_per_batch, "terms": {"latency": bp.latency_seconds, "compute": bp.compute_seconds,
                                                     "memory": bp.memory_seconds}}
    roof = replace(dev, linear_table=None, activation_tables=None, write_allocate=True, threads=p.threads)
    out["roofline"] = predict_batch(mlp, p.batch, roof, activation=p.activation).seconds_per_batch
    return out


def error_stats(errs: list[float]) -> dict:
    if not errs:
        return {"n": 0}
    a = sorted(abs(e) for e in errs)
    return {"n": len(errs), "signed_median": statistics.median(errs), "median_abs": statistics.median(a),
            "p90_abs": a[min(len(a) - 1, int(0.9 * len(a)))], "worst_abs": a[-1]}


def calibrated_error(p: Point) -> float:
    """The tables' prediction with each term (latency, compute, memory) scaled by its probe at each visit, against
    that visit's measurement: the median over visits."""
    terms = p.predicted["terms"]
    return statistics.median(sum(terms[k] * s[k] for k in terms) / m - 1 for s, m in zip(p.speed, p.measured))


def summarise(points: list[Point], quiet: float) -> list[dict]:
    keys = sorted({(p.grid, p.threads, p.runtime) for p in points})
    rows = []
    for grid, threads, runtime in keys:
        sel = [p for p in points if (p.grid, p.threads, p.runtime) == (grid, threads, runtime) and p.measured]
        for approach in ("tables", "roofline", "calibrated", "compared"):
            if approach == "compared" and not all("compared" in p.predicted for p in sel):
                continue
            if approach == "calibrated":
                errs = [calibrated_error(p) for p in sel]
                rows.append({"grid": grid, "threads": threads, "runtime": runtime, "approach": approach,
                             **error_stats(errs), "quiet": {"n": 0}, "worst_point": None,
                             "load_median": statistics.median(x for p in sel for x in p.loads) if sel else None})
                continue
            errs = [p.predicted[approach] / p.median() - 1 for p in sel]
            q = [p.predicted[approach] / p.median(True, quiet) - 1 for p in sel if p.median(True, quiet)]
            worst = max(sel, key=lambda p: abs(p.predicted[approach] / p.median() - 1)) if sel else None
            rows.append({"grid": grid, "threads": threads, "runtime": runtime, "approach": approach,
                         **error_stats(errs), "quiet": error_stats(q),
                         "worst_point": worst.label if worst else None,
                         "load_median": statistics.median(x for p in sel for x in p.loads) if sel else None})
    return rows


def noise_floor(points: list[Point], repeats: int, seconds: float) -> dict:
    """The machine's own noise: for each thread setting, the points at the 10th, 50th and 90th percentile of
    predicted time measured ``repeats`` times back to back; each measurement's deviation from their median."""
    chosen = []
    for threads in sorted({p.threads for p in points}):
        sel = sorted((p for p in points if p.threads == threads), key=lambda p: p.predicted["tables"])
        chosen += [sel[int(q * (len(sel) - 1))] for q in (0.1, 0.5, 0.9)] if sel else []
    devs, loads, per = [], [], {}
    for p in chosen:
        net = build(p.widths, p.activation, p.dtype)
        x = torch.randn(p.batch, p.widths[0]).to(TORCH_DTYPE[p.dtype])
        ms = []
        for _ in range(repeats):
            m, ld = measure_point(lambda: net(x), torch.no_grad(), p.threads, seconds)
            ms.append(m)
            loads.append(ld)
        med = statistics.median(ms)
        d = [m / med - 1 for m in ms]
        devs += d
        per[f"{p.label} {p.threads}t"] = max(abs(v) for v in d)
    return {"points": per, "repeats": repeats, **error_stats(devs),
            "load_median": statistics.median(loads) if loads else None}


def run_points(points: list[Point], rounds: int, seconds: float, rng: random.Random, say, profiles: dict) -> None:
    """Interleaved rounds over the points (shuffled each round); nets are built once per shape and runtime."""
    cache: dict = {}
    for r in range(rounds):
        order = points[:]
        rng.shuffle(order)
        for k, p in enumerate(order):
            key = (p.widths, p.activation, p.dtype, p.runtime)
            if key not in cache:
                net = build(p.widths, p.activation, p.dtype)
                cache[key] = runtime_of(p.runtime, net, p.activation, p.widths[0])
            call, ctx = cache[key]
            x = torch.randn(p.batch, p.widths[0]).to(TORCH_DTYPE[p.dtype])
            p.speed.append(probe(p.threads, p.dtype, profiles[p.threads]))
            m, ld = measure_point(lambda: call(x), ctx, p.threads, seconds)
            p.measured.append(m)
            p.loads.append(ld)
            if k % 20 == 0:
                say(f"round {r + 1}/{rounds}: {k}/{len(order)} points, load {os.getloadavg()[0]:.1f}")


def load_profiles(args, say) -> dict[int, object]:
    """threads -> profile: one measured with one thread, one with the default thread count (measured when
    missing, or with ``--measure``)."""
    n = min(usable_cores(), torch.get_num_threads())
    one = Path(args.profile_1)
    if args.measure or not one.exists():
        say(f"measuring a one-thread profile into {one} (hw measure --threads 1)")
        measure_and_save(one, MeasureOptions(threads=1))
        torch.set_num_threads(n)
    if args.profile_n:
        default = Path(args.profile_n)
        if args.measure or not default.exists():
            say(f"measuring a {n}-thread profile into {default} (hw measure)")
            measure_and_save(default, MeasureOptions(threads=n))
        prof_n = load_file(default)
    else:
        prof_n = resolve("local", on_status=say)
    return {1: load_file(one), n: prof_n}


def make_points(args, profiles: dict, compared: dict | None = None) -> list[Point]:
    """The grids' points, each priced by its thread setting's profile (and, as ``compared``, by the profile of
    ``compared`` for that thread setting: two profiles against the same timings)."""
    points = []
    for grid in args.grid:
        runtimes = args.runtimes if grid == "validation" else args.tuning_runtimes
        for k, (widths, act, dtype, batches) in enumerate(shapes(grid, args.shapes)):
            for threads, prof in profiles.items():
                if str(threads) not in args.threads and not ("n" in args.threads and threads > 1):
                    continue
                for rt in runtimes:
                    if rt == "compile" and (k >= args.compile_shapes or rt not in prof.runtimes):
                        continue  # compiling takes ~30 s a shape: the first few, and only where it was measured
                    for b in batches:
                        p = Point(grid, widths, b, dtype, act, threads, rt)
                        p.predicted = predictions(prof, p)
                        if compared and threads in compared:
                            p.predicted["compared"] = predictions(compared[threads], p)["tables"]
                        points.append(p)
    return points


def print_summary(rows: list[dict], noise: dict, profiles: dict) -> None:
    for t, prof in profiles.items():
        flags = len(prof.quality.flags) if prof.quality else 0
        print(f"profile for {t} thread(s): {prof.description}; measured {prof.measured.get('when')}, "
              f"{flags} flagged figure(s)")
    pct = lambda v: "-" if v is None else f"{100 * v:+.1f}%"  # noqa: E731
    print("\n| grid | threads | runtime | approach | n | signed median | median abs | p90 | worst | quiet: n, "
          "median abs, worst | load (other cores) |\n|---|---:|---|---|---:|---:|---:|---:|---:|---|---:|")
    for r in rows:
        q = r["quiet"]
        if not r["n"]:
            continue
        print(f"| {r['grid']} | {r['threads']} | {r['runtime']} | {r['approach']} | {r['n']} | "
              f"{pct(r.get('signed_median'))} | {pct(r.get('median_abs')).lstrip('+')} | "
              f"{pct(r.get('p90_abs')).lstrip('+')} | {pct(r.get('worst_abs')).lstrip('+')} ({r['worst_point'] or '-'}) | "
              f"{q['n']}, {pct(q.get('median_abs')).lstrip('+')}, {pct(q.get('worst_abs')).lstrip('+')} | "
              f"{r['load_median']:.2f} |")
    print(f"\nnoise floor ({noise['repeats']} measurements of each of {len(noise['points'])} points, deviation "
          f"from their median): median {pct(noise.get('median_abs')).lstrip('+')}, p90 "
          f"{pct(noise.get('p90_abs')).lstrip('+')}, worst {pct(noise.get('worst_abs')).lstrip('+')} (load "
          f"{noise['load_median']:.2f} other cores); worst per point: "
          + "; ".join(f"{k} {pct(v).lstrip('+')}" for k, v in noise["points"].items()))


def plot(points: list[Point], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 6.0))
    for (grid, threads), marker in zip(sorted({(p.grid, p.threads) for p in points}), "os^vD*"):
        sel = [p for p in points if (p.grid, p.threads) == (grid, threads) and p.measured]
        ax.scatter([p.median() * 1e6 for p in sel], [p.predicted["tables"] * 1e6 for p in sel], s=12,
                   marker=marker, alpha=0.7, label=f"{grid}, {threads} thread(s)")
    lo = min(min(p.median(), p.predicted["tables"]) for p in points) * 1e6 / 1.5
    hi = max(max(p.median(), p.predicted["tables"]) for p in points) * 1e6 * 1.5
    ax.plot([lo, hi], [lo, hi], "k-", lw=0.8)
    for f, style in ((1.1, ":"), (1.3, "--")):
        ax.plot([lo, hi], [lo * f, hi * f], "k" + style, lw=0.6)
        ax.plot([lo, hi], [lo / f, hi / f], "k" + style, lw=0.6)
    load = statistics.median(x for p in points for x in p.loads)
    ax.set(xscale="log", yscale="log", xlim=(lo, hi), ylim=(lo, hi), xlabel="measured µs per forward",
           ylabel="predicted µs per forward (cost tables)",
           title=f"predicted vs measured (dotted ±10%, dashed ±30%)\nother processes used {load:.1f} of "
                 f"{usable_cores()} cores (median over the points)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grid", nargs="+", default=["tuning", "validation"], choices=sorted(SEEDS))
    ap.add_argument("--threads", nargs="+", default=["1", "n"], help="1 and/or n (the default thread count)")
    ap.add_argument("--runtimes", nargs="+", default=["eager", "inference", "functional", "export"],
                    help="runtimes measured on the validation grid")
    ap.add_argument("--tuning-runtimes", nargs="+", default=["eager"])
    ap.add_argument("--compile-shapes", type=int, default=3, help="shapes measured with torch.compile (add compile "
                                                                   "to --runtimes; the profile must have measured it)")
    ap.add_argument("--shapes", type=int, default=14, help="MLP shapes per grid (3 batches each)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=0.02, help="timing budget per point per round")
    ap.add_argument("--noise-repeats", type=int, default=6)
    ap.add_argument("--quick", action="store_true", help="4 shapes, 2 rounds: a smoke run")
    ap.add_argument("--measure", action="store_true", help="measure both profiles first")
    ap.add_argument("--profile-1", default=str(PROFILE_DIR / "threads1.yaml"))
    ap.add_argument("--profile-n", default=None, help="default: the local profile")
    ap.add_argument("--compare-1", metavar="YAML", help="a second one-thread profile, priced against the same timings "
                                                        "(approach 'compared')")
    ap.add_argument("--compare-n", metavar="YAML", help="the same for the default thread count")
    ap.add_argument("--quiet-load", type=float, default=0.5, help="'quiet': other processes below this many cores")
    ap.add_argument("--json", metavar="FILE")
    ap.add_argument("--plot", metavar="PNG")
    ap.add_argument("--replot", metavar="JSON", help="only draw --plot from a --json file of an earlier run")
    args = ap.parse_args(argv)
    if args.replot:
        pts = [Point(**{**d, "widths": tuple(d["widths"])}) for d in json.loads(Path(args.replot).read_text())["points"]]
        plot(pts, args.plot)
        return 0
    if args.quick:
        args.shapes, args.rounds, args.noise_repeats = 4, 2, 4
    say = lambda m: print(f"# {m}", file=sys.stderr, flush=True)  # noqa: E731
    started = time.perf_counter()
    try:   # a missing or malformed profile: one line, exit 2
        profiles = load_profiles(args, say)
        n = max(profiles)
        compared = {t: load_file(f) for t, f in ((1, args.compare_1), (n, args.compare_n)) if f}
    except PhasmError as exc:
        print(f"model_vs_measured.py: {exc}", file=sys.stderr)
        return 2
    points = make_points(args, profiles, compared)
    say(f"{len(points)} points x {args.rounds} rounds; load average {os.getloadavg()[0]:.1f}")
    rng = random.Random(0)
    run_points(points, args.rounds, args.seconds, rng, say, profiles)
    noise = noise_floor([p for p in points if p.runtime == "eager"], args.noise_repeats, args.seconds)
    rows = summarise(points, args.quiet_load)
    print(f"torch {torch.__version__}; {len(points)} points, {args.rounds} rounds, seeds {SEEDS}; "
          f"{time.perf_counter() - started:.0f} s")
    print_summary(rows, noise, profiles)
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "noise": noise, "seeds": SEEDS,
                                               "points": [asdict(p) for p in points]}, indent=1))
    if args.plot:
        plot(points, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
