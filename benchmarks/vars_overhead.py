#!/usr/bin/env python3
"""The cost of ``phasm-perf vars`` on a function called about a million times, against the bare run.

    .venv/bin/python benchmarks/vars_overhead.py [--repeats 5] [--events 40] [--python python3.13]

examples/particles.py with ``--events 40 --particles 25 --steps 1000`` calls ``field_at`` exactly 1,000,000 times
(from ``boris_push``, called 1,000 times). Each repeat runs, interleaved: the bare program; ``phasm-perf vars
--function particles:field_at`` (the default sample: all of the first 64 calls, then a thinning one); the same with
``--calls 1`` (nearly only the trampoline that counts calls); and ``vars`` on ``boris_push``; then the program
with the observer alone (the hook, no command around it: what the observation itself costs); and the command's
start-up (``vars --help``). Reported: the median (and the range) of the wall time and of the CPU time (user +
system of everything the line runs), and the ratios to the bare run. The program waits 10 ms per event and syncs its output file, so
the CPU time is the figure that shows the overhead; the wall time is what a user waits.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from phasm_perf.core.hook.run import run_with_hook  # noqa: E402


def timed(cmd) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system of the command and its children); ``cmd`` is a command line or
    a callable that runs one."""
    before = os.times()
    t0 = time.perf_counter()
    if callable(cmd):
        cmd()
    else:
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = os.times()
    return wall, (after.children_user - before.children_user) + (after.children_system - before.children_system)


def summary(name: str, runs: list[tuple[float, float]], base: tuple[float, float] | None) -> str:
    walls, cpus = [r[0] for r in runs], [r[1] for r in runs]
    w, c = statistics.median(walls), statistics.median(cpus)
    text = (f"{name:34s} wall {w:6.2f} s ({min(walls):.2f}-{max(walls):.2f})   "
            f"cpu {c:6.2f} s ({min(cpus):.2f}-{max(cpus):.2f})")
    if base:
        text += f"   ratio wall {w / base[0]:.2f}  cpu {c / base[1]:.2f}  (+{c - base[1]:.2f} s cpu)"
    return text


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--events", type=int, default=40, help="40 events of 25 particles x 1000 steps: 1M field_at calls")
    ap.add_argument("--python", default=sys.executable,
                    help="the program's interpreter (e.g. a 3.13 to see sys.monitoring; phasm-perf itself runs on "
                         "this one and is put on the program's PYTHONPATH)")
    args = ap.parse_args()
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    prog = [args.python, str(ROOT / "examples" / "particles.py"), "--events", str(args.events), "--particles", "25",
            "--steps", "1000"]
    vars_cmd = [sys.executable, "-m", "phasm_perf", "vars", "--format", "json"]
    def observed(function: str, calls: int):
        """The program with the observer and nothing else: no command start-up, no report."""
        spec = {"agent": "phasm_perf.discover._agent", "module": "particles", "qualname": function,
                "script": prog[1], "calls": calls}
        return lambda: run_with_hook(prog, spec, what="observed")

    variants = {
        "bare program": prog,
        "program + observer: field_at": observed("field_at", 64),
        "program + observer: field_at, 1": observed("field_at", 1),
        "program + observer: boris_push": observed("boris_push", 64),
        "vars field_at (default sample)": [*vars_cmd, "--function", "particles:field_at", "--", *prog],
        "vars field_at --calls 1": [*vars_cmd, "--calls", "1", "--function", "particles:field_at", "--", *prog],
        "vars boris_push (default sample)": [*vars_cmd, "--function", "particles:boris_push", "--", *prog],
        "phasm-perf start-up (--help)": [sys.executable, "-m", "phasm_perf", "vars", "--help"],
    }
    runs: dict[str, list] = {k: [] for k in variants}
    for i in range(args.repeats):
        order = list(variants) if i % 2 == 0 else list(variants)[::-1]
        for name in order:
            runs[name].append(timed(variants[name]))
    base = tuple(statistics.median(r[k] for r in runs["bare program"]) for k in (0, 1))
    version = subprocess.run([args.python, "-c", "import sys; print(sys.version.split()[0])"], capture_output=True,
                             text=True, check=True).stdout.strip()
    print(f"examples/particles.py --events {args.events} --particles 25 --steps 1000: "
          f"{args.events * 25 * 1000:,} calls of field_at; repeats {args.repeats}; the program on Python {version}")
    for name in variants:
        print(summary(name, runs[name], None if name == "bare program" else base))
    return 0


if __name__ == "__main__":
    sys.exit(main())
