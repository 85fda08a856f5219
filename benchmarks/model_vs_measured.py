"""Model vs reality on this CPU: the `local` profile's predicted time per batch against PyTorch's measured time.

For several MLP shapes and batch sizes 1..4096, time ``net(x)`` under ``torch.no_grad()`` (warm-up, then the median
of 15 repeats; the whole sweep is done ``--rounds`` times, spread over a minute or two, and each point keeps its
lowest median, so a burst of load from another process on a shared machine does not decide a point) and compare with ``phasm_perf.predict.predict_sweep("local", ...)``. Prints a markdown table and the
median and worst relative error ``|predicted - measured| / measured``.

    .venv/bin/python benchmarks/model_vs_measured.py                 # uses (and, first time, makes) `local`
    .venv/bin/python benchmarks/model_vs_measured.py --measure       # re-measure this machine first
    .venv/bin/python benchmarks/model_vs_measured.py --profile FILE  # any profile of this machine

Performance claims are this script's numbers, never test asserts. Run it when the machine is quiet (`uptime`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import torch

from phasm_perf.hardware import local_path
from phasm_perf.hardware.measure import MeasureOptions, measure_and_save
from phasm_perf.predict import predict_sweep, profile_of

SHAPES = [(7, (64, 64), 6), (32, (128, 128), 32), (3, (256, 256, 256), 3), (16, (512,), 16)]
BATCHES = [2 ** k for k in range(13)]


def build(inputs: int, hidden: tuple[int, ...], outputs: int) -> torch.nn.Module:
    widths = (inputs, *hidden, outputs)
    layers: list[torch.nn.Module] = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i < len(widths) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers).eval()


def measure_forward(net: torch.nn.Module, batch: int, inputs: int, budget: float = 0.15) -> float:
    """Median of individually timed forwards (warm-up first; at least 15, up to ``budget`` seconds' worth).

    Each call is timed on its own: a call of tens of microseconds is rarely cut by the scheduler, so the median is
    the machine's time for it even when other processes share the cores; groups of calls would each be cut."""
    x = torch.randn(batch, inputs)
    clock = time.perf_counter
    with torch.no_grad():
        for _ in range(3):
            net(x)
        t0 = clock()
        net(x)
        one = max(clock() - t0, 1e-7)
        times: list[float] = []
        want, start = max(15, min(2000, int(budget / one))), clock()
        while len(times) < want and (len(times) < 15 or clock() - start < 4 * budget):
            t0 = clock()
            net(x)
            times.append(clock() - t0)
    return statistics.median(times)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="local", help="hardware profile of this machine (default: local)")
    ap.add_argument("--measure", action="store_true", help="re-measure the local profile first")
    ap.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    ap.add_argument("--max-batch", type=int, default=4096)
    ap.add_argument("--rounds", type=int, default=3, help="sweeps over all points; each keeps its lowest median")
    ap.add_argument("--threads", type=int, help="torch threads (default: those the profile was measured with)")
    args = ap.parse_args(argv)
    if args.measure:
        measure_and_save(local_path(), MeasureOptions())
    prof = profile_of(args.profile)
    threads = args.threads or (prof.measured or {}).get("threads")
    if threads:
        torch.set_num_threads(int(threads))  # time with the threads the profile was measured with
    torch.manual_seed(0)
    batches = [b for b in BATCHES if b <= args.max_batch]
    rows = []
    nets = {shape: build(*shape) for shape in SHAPES}
    measured: dict[tuple, float] = {}
    for _ in range(args.rounds):
        for shape, net in nets.items():
            for b in batches:
                t = measure_forward(net, b, shape[0])
                measured[shape, b] = min(t, measured.get((shape, b), t))
    for (inputs, hidden, outputs) in SHAPES:
        preds = {p.batch: p for p in predict_sweep(prof, inputs, outputs, hidden, "fp32", batches)}
        for b in batches:
            meas = measured[(inputs, hidden, outputs), b]
            p = preds[b]
            rows.append({"shape": f"{inputs}->{'x'.join(map(str, hidden))}->{outputs}", "batch": b,
                         "predicted": p.seconds_per_batch, "measured": meas, "bound": p.bound,
                         "error": abs(p.seconds_per_batch - meas) / meas})
    errs = [r["error"] for r in rows]
    print(f"profile: {prof.name} ({prof.description}); torch {torch.__version__}, {torch.get_num_threads()} "
          f"thread(s), {args.rounds} round(s)")
    print("\n| MLP | batch | predicted | measured | error | bound |\n|---|---:|---:|---:|---:|---|")
    for r in rows:
        print(f"| {r['shape']} | {r['batch']} | {r['predicted'] * 1e6:,.1f} µs | {r['measured'] * 1e6:,.1f} µs | "
              f"{100 * r['error']:.0f}% | {r['bound']} |")
    worst = max(rows, key=lambda r: r["error"])
    print(f"\nmedian relative error {100 * statistics.median(errs):.1f}%, worst {100 * worst['error']:.0f}% "
          f"({worst['shape']} at batch {worst['batch']}), {len(rows)} points")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"profile": prof.name, "rows": rows, "median_error": statistics.median(errs),
                       "worst_error": worst["error"]}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
