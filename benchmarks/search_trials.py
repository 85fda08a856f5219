"""How long a `phasm-perf search` takes: a 50-trial search on ``examples/particles.py`` (``boris_push``), tracked
in MLflow (the default sqlite store) and with ``--no-track``, on a local Dask cluster of ``--workers`` processes.

Prints the wall time of each command, where it went (capture and synthetic runs, trials, what follows them), the
trials' own training time (median, total), how many were pruned, and the front.

    .venv/bin/python benchmarks/search_trials.py [--trials 50] [--workers 2] [--events 10] [--hardware a100-80gb-pcie]
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


def run(work: Path, name: str, args, extra: list[str]) -> None:
    out = work / name
    cmd = [sys.executable, "-m", "phasm_perf", "search", "--function", "particles:boris_push", "--trials",
           str(args.trials), "--hardware", args.hardware, "--batch", str(args.batch), "--workers", str(args.workers),
           "-q", "--out", str(out), *extra, "--", str(ROOT / "examples" / "particles.py"), "--events",
           str(args.events)]
    t = time.perf_counter()
    proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        print(f"{name}: exit {proc.returncode}: {proc.stderr[-500:]}")
        return
    r = json.loads((out / "search.json").read_text())
    trials = r["trials"]
    done = [t for t in trials if t["state"] == "complete"]
    secs = [t["training_seconds"] for t in trials if t.get("training_seconds")]
    print(f"{name}: {wall:.0f} s wall for {len(trials)} trials ({len(done)} complete, "
          f"{sum(t['state'] == 'pruned' for t in trials)} pruned, {sum(t['state'] == 'failed' for t in trials)} "
          f"failed) on {r['workers']} workers; the search itself {r['seconds']:.0f} s")
    print(f"  training per trial: median {statistics.median(secs):.1f} s, total {sum(secs):.0f} s "
          f"(worker-seconds; {sum(secs) / r['workers']:.0f} s of wall time at best on {r['workers']} workers)")
    print(f"  {r['capture']['samples']} captured calls ({r['capture']['held_back']} held back); front: "
          + ", ".join(f"#{p['number']} {p['surrogate']} {p['dtype']} {p['error']:.1%} {p['predicted_speedup']:.2f}x"
                      for p in r["pareto"]))
    store = out / "mlflow.db"
    if store.exists():
        size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file() and ("mlartifacts" in f.parts
                                                                                 or f.name == "mlflow.db"))
        print(f"  MLflow store: {size / 2**20:.1f} MiB for {len(done)} tracked trials")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=50)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--events", type=int, default=10)
    ap.add_argument("--hardware", default="a100-80gb-pcie")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--work", default="/tmp/phasm-search-bench")
    args = ap.parse_args()
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    run(work, "tracked", args, [])
    run(work, "--no-track", args, ["--no-track"])


if __name__ == "__main__":
    main()
