"""What tracking a `phasm-perf bench` run in MLflow costs: time and disk.

Two measurements, both on ``examples/particles.py`` (``boris_push``):

1. The tracking step alone, in a fresh process each time (as a CLI run pays it): importing MLflow, opening the
   store (creating the sqlite database the first time), logging the run (parameters, per-batch metrics, the three
   report files, the surrogate as a pt2 MLflow model with its example validated by MLflow). ``--repeats`` times into
   a new store, then ``--repeats`` times into the same store; the disk the store grows by per run.
2. The whole command, ``bench`` with the default tracking against ``bench --no-track``, interleaved
   (``--cli-repeats`` each): the difference of the medians, beside their spread.

    .venv/bin/python benchmarks/tracking_overhead.py [--repeats 5] [--cli-repeats 3] [--work /tmp/track-bench]

Every figure is a wall-clock time: run it on a quiet machine (``uptime``), and read the two measurements together
(the first isolates the step, the second includes what the step shares with the bench run: torch already imported,
a torch.export already warm).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ["bench", "--function", "particles:boris_push", "--epochs", "100", "--repeats", "1", "--timing-repeats", "5",
         "--batch", "1,16,256", "--threads", "1", "--hardware", "epyc-7763", "--samples", "200", "--min-samples", "50",
         "-q", "--format", "json", "-o", "/dev/null"]
PROG = ["--", str(ROOT / "examples" / "particles.py"), "--events", "8"]

STEP = r"""
import json, sys, time
t0 = time.perf_counter()
from phasm_perf import api
from phasm_perf.bench.report import BenchReport
from phasm_perf.track import Tracking
t1 = time.perf_counter()
tracker, err = api.open_tracking(Tracking(), sys.argv[2])
import mlflow  # already imported by the adapter: its import is inside t2 - t1
t2 = time.perf_counter()
report = BenchReport.model_validate_json(open(sys.argv[1] + "/bench.json").read())
api.track_bench(report, sys.argv[1], tracker)
t3 = time.perf_counter()
print(json.dumps({"import_api": t1 - t0, "open_store": t2 - t1, "log_run": t3 - t2}))
"""


def du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.exists() else 0


def med(xs: list[float]) -> str:
    return f"{statistics.median(xs):.2f} s (min {min(xs):.2f}, max {max(xs):.2f})"


def step_alone(work: Path, repeats: int) -> None:
    src = work / "bench"
    subprocess.run([sys.executable, "-m", "phasm_perf", *BENCH, "--no-track", "--out", str(src), *PROG], check=True,
                   cwd=work, capture_output=True)
    for kind in ("new store", "same store"):
        times: dict[str, list[float]] = {}
        sizes = []
        store = work / "store-same"
        for i in range(repeats):
            if kind == "new store":
                store = work / f"store-new-{i}"
                shutil.rmtree(store, ignore_errors=True)
            before = du(store)
            out = subprocess.run([sys.executable, "-c", STEP, str(src), str(store)], check=True, cwd=work,
                                 capture_output=True, text=True).stdout
            for k, v in json.loads(out.splitlines()[-1]).items():
                times.setdefault(k, []).append(v)
            sizes.append(du(store) - before)
        print(f"tracking step, {kind} ({repeats} runs, a fresh process each):")
        for k, v in times.items():
            print(f"  {k:12s} {med(v)}")
        total = [sum(t) for t in zip(times["open_store"], times["log_run"])]
        print(f"  {'open + log':12s} {med(total)}   (the tracking cost of a CLI run; importing phasm-perf is paid "
              "anyway)")
        print(f"  disk per run: median {statistics.median(sizes) / 1024:.0f} KiB "
              f"(min {min(sizes) / 1024:.0f}, max {max(sizes) / 1024:.0f})")


def whole_command(work: Path, repeats: int) -> None:
    walls: dict[str, list[float]] = {"tracked": [], "--no-track": []}
    for i in range(repeats):
        order = ["tracked", "--no-track"] if i % 2 == 0 else ["--no-track", "tracked"]
        for kind in order:
            extra = ["--no-track"] if kind == "--no-track" else []
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "phasm_perf", *BENCH, *extra, "--out", str(work / f"cli-{kind}-{i}"),
                            *PROG], check=True, cwd=work, capture_output=True)
            walls[kind].append(time.perf_counter() - t)
    print(f"whole bench command, interleaved, {repeats} each:")
    for k, v in walls.items():
        print(f"  {k:12s} {med(v)}")
    d = statistics.median(walls["tracked"]) - statistics.median(walls["--no-track"])
    print(f"  difference of the medians: {d:+.2f} s "
          f"({d / statistics.median(walls['--no-track']):+.0%} of an untracked run)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--cli-repeats", type=int, default=3)
    ap.add_argument("--work", default="/tmp/phasm-track-bench")
    args = ap.parse_args()
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    step_alone(work, args.repeats)
    whole_command(work, args.cli_repeats)


if __name__ == "__main__":
    main()
