#!/usr/bin/env python3
"""Accuracy of the on-CPU/off-CPU split: profile a program with a known compute/sleep split and compare.

    .venv/bin/python benchmarks/on_off_split.py [--collector austin] [--seconds 2]

The program (tests/programs/split.py) measures its own compute and sleep time with perf_counter; the profile's
off-CPU share of the whole run is set beside that truth, in percentage points.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from phasm_perf.api import load_profile  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=2.0)
    args = ap.parse_args()
    print(f"{'compute:sleep':>13} {'truth off-CPU':>14} {'measured':>9} {'error (pp)':>10}")
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for frac in (0.9, 0.75, 0.5, 0.25, 0.1):
            c, s = args.seconds * frac, args.seconds * (1 - frac)
            out = Path(tmp) / f"b{frac}"
            subprocess.run([sys.executable, "-m", "phasm_perf", "profile", "--no-counts", "-o", str(out), "--",
                            sys.executable, str(ROOT / "tests/programs/split.py"), str(c), str(s), "20"],
                           check=True, stderr=subprocess.DEVNULL)
            words = (out / "stdout.txt").read_text().split()
            tc, ts = float(words[1]), float(words[3])
            b = load_profile(out)
            on, off = sum(b.on_cpu.values()), sum(b.off_cpu.values())
            truth, measured = ts / (tc + ts), off / (on + off)
            worst = max(worst, abs(measured - truth))
            print(f"{frac:>6.0%}:{1 - frac:<6.0%} {100 * truth:>13.1f}% {100 * measured:>8.1f}% "
                  f"{100 * (measured - truth):>+10.1f}")
    print(f"worst error: {100 * worst:.1f} percentage points")
    return 0


if __name__ == "__main__":
    sys.exit(main())
