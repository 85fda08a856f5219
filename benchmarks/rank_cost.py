#!/usr/bin/env python3
"""What `phasm-perf rank prog.py` costs, and how fast phasm-perf starts (issue 15, items 4 and 6).

    .venv/bin/python benchmarks/rank_cost.py [--repeats 5]

Cost: for examples/particles.py and benchmarks/programs/million_calls.py (a kernel called 1,000,000 times), the
whole `rank PROG` command (sampling with Austin and exact call counts of every function of the program, in one
run) against the bare run and against `python -m cProfile PROG`, interleaved (bare, rank, cProfile, bare, ...) so
that a busy machine weighs on each alike; medians, spread, and the ratios of the medians. Targets: rank <= 1.5x
the bare run, and never slower than cProfile.

Start-up: `phasm-perf --help` (wall time, median), and with `python -X importtime` the import time of what the
command line loads before it prints help, and before `rank` starts the program (the analysis, pandas included,
is imported in the background while the program runs). Target: under 0.3 s, pandas not among them.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROGRAMS = [ROOT / "examples" / "particles.py", ROOT / "benchmarks" / "programs" / "million_calls.py"]
HEAVY = ("pandas", "numpy", "matplotlib", "torch", "pydantic")


def wall(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    return time.perf_counter() - t0


def spread(xs: list[float]) -> str:
    return f"{statistics.median(xs):6.2f} s (min {min(xs):.2f}, max {max(xs):.2f})"


def cost(prog: Path, repeats: int) -> None:
    bare, rank, cprof = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeats):
            bare.append(wall([sys.executable, str(prog)]))
            rank.append(wall([sys.executable, "-m", "phasm_perf", "rank", "--bundle", f"{tmp}/b", "--force",
                              "-o", f"{tmp}/r.json", str(prog)]))
            cprof.append(wall([sys.executable, "-m", "cProfile", "-o", f"{tmp}/c.prof", str(prog)]))
    b, r, c = (statistics.median(x) for x in (bare, rank, cprof))
    print(f"{prog.relative_to(ROOT)}   repeats: {repeats}   python {sys.version.split()[0]}")
    print(f"  bare run            {spread(bare)}")
    print(f"  rank PROG (whole)   {spread(rank)}   ratio to bare {r / b:5.2f}  (target <= 1.5)")
    print(f"  python -m cProfile  {spread(cprof)}   ratio to bare {c / b:5.2f}   rank / cProfile {r / c:5.2f}")


def import_ms(code: str) -> tuple[float, list[str]]:
    """Total import time (ms) of what ``code`` imports, and which heavy packages among them."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True,
                          cwd=ROOT, check=True)
    total, heavy = 0, set()
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if m:
            if len(m.group(3)) == 1:  # top level: its cumulative time counts once
                total += int(m.group(2))
            if m.group(4).split(".")[0] in HEAVY:
                heavy.add(m.group(4).split(".")[0])
    return total / 1000, sorted(heavy)


def startup(repeats: int) -> None:
    helps = [wall([sys.executable, "-m", "phasm_perf", "--help"]) for _ in range(repeats)]
    bare = [wall([sys.executable, "-c", "pass"]) for _ in range(repeats)]
    print(f"phasm-perf --help     {spread(helps)}   (python -c pass: {statistics.median(bare):.2f} s)")
    for what, code in (("--help", "from phasm_perf.cli import build_parser; build_parser()"),
                       ("before rank starts the program",
                        "from phasm_perf.cli import build_parser; build_parser(); import phasm_perf.api, "
                        "phasm_perf.collect.austin, phasm_perf.collect.counts")):
        ms = [import_ms(code) for _ in range(repeats)]
        print(f"imports {what:32s} {statistics.median(m for m, _ in ms):6.0f} ms   heavy: "
              f"{', '.join(ms[0][1]) or 'none'}   (target < 300 ms, no pandas)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--skip-cost", action="store_true")
    args = ap.parse_args()
    with open("/proc/loadavg") as fh:
        print(f"load average: {fh.read().split()[0]} on {subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} cores")
    startup(args.repeats)
    if not args.skip_cost:
        for prog in PROGRAMS:
            cost(prog, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
