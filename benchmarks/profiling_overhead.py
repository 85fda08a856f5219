#!/usr/bin/env python3
"""Profiling overhead on an example: wall time with and without profiling, interleaved in one session.

    .venv/bin/python benchmarks/profiling_overhead.py [--repeats 5] [-- PROG ARGS...]

For each repeat it runs the program plainly, under `phasm-perf profile --no-counts` (the sampling run alone),
and under `phasm-perf profile` (sampling + the exact call-counting pass), and reports the median wall time of
each and the ratios to the plain run. Interleaving keeps the comparison fair on a busy machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def wall(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    prog = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    prog = prog or [str(ROOT / "examples" / "particles.py")]
    plain, sampled, counted, inside = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            plain.append(wall([sys.executable, *prog]))
            sampled.append(wall([sys.executable, "-m", "phasm_perf", "profile", "--force", "--no-counts",
                                 "-o", f"{tmp}/s", "--", sys.executable, *prog]))
            inside.append(json.loads(Path(f"{tmp}/s/meta.json").read_text())["wall_seconds"])
            counted.append(wall([sys.executable, "-m", "phasm_perf", "profile", "--force",
                                 "-o", f"{tmp}/c", "--", sys.executable, *prog]))
    p, s, c, i = (statistics.median(x) for x in (plain, sampled, counted, inside))
    print(f"program: {' '.join(prog)}   repeats: {args.repeats}   python {sys.version.split()[0]}")
    print(f"plain                          {p:7.3f} s")
    print(f"the program under the sampler  {i:7.3f} s   ratio {i / p:5.2f}   (meta.json wall_seconds)")
    print(f"profile --no-counts (sampling) {s:7.3f} s   ratio {s / p:5.2f}   (the whole command)")
    print(f"profile (sampling + counting)  {c:7.3f} s   ratio {c / p:5.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
