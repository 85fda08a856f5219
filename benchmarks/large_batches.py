"""Does the layer table need its row at batch 8,192? One measured profile, read two ways, against the same timings.

The row at 8,192 takes about 60% of the layer tables' time in ``hw measure``. Without it the table extends from its
last nodes (1,024 and 4,096). This script takes a profile measured with the row (``--profile``), makes a copy of it
without the batches above ``--last`` (everything else identical), and compares both against PyTorch on random MLPs
(the validation grid's recipe of ``model_vs_measured.py``, its own seed, never used for tuning) at batches drawn
log-uniformly in 1,024-8,192: the shapes whose prediction the row can change. Each point is measured as
``model_vs_measured.py`` measures it (median over groups of calls; one thread on its CPU clock), in interleaved
shuffled rounds; both predictions are computed beside it, so the difference between the two columns is the row
alone. (Measured on a 2-core EPYC VM on 3 December 2026: at two threads the row is needed; the theory page has the
numbers.)

    .venv/bin/python benchmarks/large_batches.py --profile P1.yaml --threads 1
    .venv/bin/python benchmarks/large_batches.py --profile PN.yaml --threads 2

Performance claims are this script's numbers, never test asserts.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model_vs_measured import Point, error_stats, predictions, random_mlp, run_points  # noqa: E402

from phasm_perf.core.errors import PhasmError  # noqa: E402
from phasm_perf.hardware import load_file, parse_profile  # noqa: E402

SEED = 20261203


def without_rows(profile: dict, last: int) -> dict:
    """The profile's data with every layer table cut to its batches up to ``last``."""
    out = yaml.safe_load(yaml.safe_dump(profile))
    for table in (out.get("tables") or {}).get("linear", {}).values():
        keep = [k for k, b in enumerate(table["batches"]) if b <= last]
        per = len(table["inputs"]) * len(table["outputs"])
        table["seconds"] = [table["seconds"][k * per + j] for k in keep for j in range(per)]
        if table.get("passes"):
            table["passes"] = [[p[k * per + j] for k in keep for j in range(per)] for p in table["passes"]]
        table["batches"] = [table["batches"][k] for k in keep]
    return out


def shapes(n: int, rng: random.Random) -> list[tuple[tuple[int, ...], str, str, int]]:
    """``n`` random MLPs of the validation grid's recipe, each at one batch drawn log-uniformly in 1,024-8,192."""
    out = []
    for k in range(n):
        widths, act, dtype = random_mlp(rng, k)
        out.append((widths, act, dtype, int(round(math.exp(rng.uniform(math.log(1024), math.log(8192)))))))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", required=True, help="a profile measured with the layer tables' row at 8,192")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--last", type=int, default=4096, help="the copy keeps the batches up to this")
    ap.add_argument("--shapes", type=int, default=24)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=0.05)
    args = ap.parse_args(argv)

    try:
        full = load_file(args.profile)   # a missing or malformed profile: one line, exit 2
    except PhasmError as exc:
        print(f"large_batches.py: {exc}", file=sys.stderr)
        return 2
    raw = yaml.safe_load(Path(args.profile).read_text())
    if max(full.tables.linear["fp32"].batches) <= args.last:
        print(f"{args.profile}: its layer tables stop at batch {args.last} already", file=sys.stderr)
        return 2
    cut = parse_profile(yaml.safe_dump(without_rows(raw, args.last), sort_keys=False), f"{args.profile} (cut)")
    rng = random.Random(SEED)
    points = []
    for widths, act, dtype, batch in shapes(args.shapes, rng):
        p = Point("large", widths, batch, dtype, act, args.threads, "eager")
        with_row = predictions(full, p)
        p.predicted = {"with_row": with_row["tables"], "without_row": predictions(cut, p)["tables"],
                       "terms": with_row["terms"]}
        points.append(p)
    run_points(points, args.rounds, args.seconds, rng, lambda m: print(m, file=sys.stderr), {args.threads: full})
    print(f"{args.profile} ({full.description}), {args.threads} thread(s), {len(points)} points at batch "
          f"1,024-8,192, {args.rounds} rounds; load median "
          f"{statistics.median(x for p in points for x in p.loads):.2f} cores")
    print(f"{'shape':44s} {'B':>5s} {'measured':>10s} {'with row':>9s} {'without':>9s}")
    for p in sorted(points, key=lambda p: p.batch):
        m = p.median()
        print(f"{'-'.join(map(str, p.widths)) + ' ' + p.activation + ' ' + p.dtype:44s} {p.batch:5d} "
              f"{m * 1e3:8.3f}ms {p.predicted['with_row'] / m - 1:+8.1%} {p.predicted['without_row'] / m - 1:+8.1%}")
    for name in ("with_row", "without_row"):
        for label, sel in (("all", points), ("B > 4096", [p for p in points if p.batch > args.last])):
            s = error_stats([p.predicted[name] / p.median() - 1 for p in sel])
            if s["n"]:
                print(f"{name:12s} {label:9s} n={s['n']:2d}: signed median {s['signed_median']:+.1%}, median |e| "
                      f"{s['median_abs']:.1%}, p90 {s['p90_abs']:.1%}, worst {s['worst_abs']:.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
