"""Long runs: phasm-perf's own peak memory, its temporary disk and the bundle's size, for one program profiled by
``rank`` for 1, 4 and 20 minutes (issue 17, item 9; the figures in playbook/reliability.md).

The program (``benchmarks/programs/long_particles.py``) is examples/particles.py's event loop run for a given time:
the same few distinct stacks at every length. What is measured, per length:

- phasm-perf's own peak resident memory (``ru_maxrss`` of the phasm-perf process alone: the command runs in-process
  under this script's ``--child`` mode, which reads ``getrusage(RUSAGE_SELF)`` at the end), and the largest of its
  children (the program, Austin, the counting pass: ``RUSAGE_CHILDREN``);
- the bundle's size on disk (every file) and its distinct stacks;
- the largest the bundle's temporary folder grew during the run (polled every 0.5 s): Austin's raw output lives
  there until it is folded, and it grows with the run's length;
- wall time, samples.

    .venv/bin/python benchmarks/long_run.py                      # 60, 240 and 1200 s: about 50 minutes (two runs each)
    .venv/bin/python benchmarks/long_run.py --seconds 10 30      # a quick look
    .venv/bin/python benchmarks/long_run.py --json out.json

``rank`` runs the program twice (the sampled run, then the counting pass), so a length of S takes about 2 S.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROGRAM = ROOT / "benchmarks" / "programs" / "long_particles.py"


def child(result: str, argv: list[str]) -> int:
    """Run ``phasm-perf ARGV`` in this process; write its own and its children's peak memory to ``result``."""
    from phasm_perf.cli import main

    rc = main(argv)
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    Path(result).write_text(json.dumps({"rc": rc, "self_maxrss_kib": me, "children_maxrss_kib": kids}))
    return rc


def _tree_size(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total


class TempWatcher(threading.Thread):
    """The largest size the bundle's temporary folders (``.NAME.tmp-*`` beside it) reach while the run lasts."""

    def __init__(self, folder: Path, name: str) -> None:
        super().__init__(daemon=True)
        self.folder, self.name, self.peak, self.done = folder, name, 0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.5):
            size = sum(_tree_size(p) for p in self.folder.glob(f".{self.name}.tmp-*"))
            self.peak = max(self.peak, size)


def one(seconds: float, work: Path) -> dict:
    bundle = work / f"run-{int(seconds)}s.phasm"
    shutil.rmtree(bundle, ignore_errors=True)
    result = work / f"run-{int(seconds)}s.rusage.json"
    argv = ["rank", "--bundle", str(bundle), "--format", "json", "-o", str(work / f"rank-{int(seconds)}s.json"),
            str(PROGRAM), "--seconds", str(seconds)]
    watcher = TempWatcher(work, bundle.name)
    watcher.start()
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--child", str(result), "--", *argv], cwd=ROOT,
                          capture_output=True, text=True)
    wall = time.perf_counter() - t0
    watcher.done.set()
    watcher.join()
    if proc.returncode != 0:
        raise SystemExit(f"phasm-perf {' '.join(argv)} exited {proc.returncode}:\n{proc.stderr}")
    usage = json.loads(result.read_text())
    meta = json.loads((bundle / "meta.json").read_text())
    stacks = sum(1 for f in ("oncpu.folded", "offcpu.folded") for _ in open(bundle / f))
    files = {p.name: p.stat().st_size for p in sorted(bundle.iterdir())}
    return {"seconds": seconds, "wall_seconds": round(wall, 1), "program_seconds": meta["wall_seconds"],
            "samples": meta["samples"], "distinct_stacks": stacks,
            "phasm_perf_peak_rss_mib": round(usage["self_maxrss_kib"] / 1024, 1),
            "children_peak_rss_mib": round(usage["children_maxrss_kib"] / 1024, 1),
            "bundle_bytes": sum(files.values()), "bundle_files": files,
            "peak_temporary_bytes": watcher.peak, "counts": meta["counts"]["status"]}


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        return child(sys.argv[2], sys.argv[4:])
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, nargs="+", default=[60, 240, 1200], help="program lengths")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--keep", help="keep the bundles in this folder (default: a temporary folder, removed)")
    args = ap.parse_args()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="phasm-long-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    try:
        print(f"{'length':>8} {'wall':>8} {'samples':>9} {'stacks':>7} {'phasm-perf RSS':>15} {'children RSS':>13} "
              f"{'bundle':>10} {'peak temp':>10}", flush=True)
        for s in args.seconds:
            r = one(s, work)
            rows.append(r)
            print(f"{s:>7g}s {r['wall_seconds']:>7.0f}s {r['samples']:>9,} {r['distinct_stacks']:>7} "
                  f"{r['phasm_perf_peak_rss_mib']:>11.1f} MiB {r['children_peak_rss_mib']:>9.1f} MiB "
                  f"{r['bundle_bytes'] / 1024:>6.0f} KiB {r['peak_temporary_bytes'] / 2**20:>6.1f} MiB", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"python": sys.version.split()[0], "runs": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
