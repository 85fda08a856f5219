"""How steady is this machine's core speed? One small MLP forward, timed window after window.

The surrogate of the examples (6 -> 64 -> 64 -> 3, fp32, batch 1, one PyTorch thread) is timed ``--calls`` times per
window, ``--windows`` windows ``--pause`` seconds apart; each window prints its median and its minimum. On a quiet
machine of steady speed every window's minimum is the same to a few percent. On a shared VM whose host changes the
core's speed (another guest on the SMT sibling, a frequency step), the minimum jumps between levels: a hardware
profile measured at one level and a bench run at the other disagree by that ratio at every batch size, whatever the
model (bench's note "every batch size measured 0.68x the predicted time alike" is that). ``--cpu N`` pins the
process to one CPU, to tell a slow vCPU from a slow moment.

    .venv/bin/python benchmarks/core_speed.py
    .venv/bin/python benchmarks/core_speed.py --cpu 0 --windows 20
"""

from __future__ import annotations

import argparse
import os
import statistics
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--windows", type=int, default=12)
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--pause", type=float, default=2.0)
    ap.add_argument("--cpu", type=int, default=None)
    a = ap.parse_args()
    if a.windows < 1 or a.calls < 1 or a.pause < 0:
        ap.error("--windows and --calls must be at least 1, --pause not negative")
    if a.cpu is not None:
        usable = sorted(os.sched_getaffinity(0))
        if a.cpu not in usable:
            ap.error(f"--cpu {a.cpu}: not a CPU this process may run on (usable: {usable})")
        os.sched_setaffinity(0, {a.cpu})
    import torch

    torch.set_num_threads(1)
    m = torch.nn.Sequential(torch.nn.Linear(6, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64), torch.nn.ReLU(),
                            torch.nn.Linear(64, 3)).eval()
    x = torch.randn(1, 6)
    mins = []
    with torch.inference_mode():
        for _ in range(200):
            m(x)
        for _ in range(a.windows):
            ts = []
            for _ in range(a.calls):
                t = time.perf_counter()
                m(x)
                ts.append(time.perf_counter() - t)
            mins.append(min(ts))
            print(f"{time.strftime('%H:%M:%S')}  median {statistics.median(ts) * 1e6:6.1f} us  "
                  f"min {min(ts) * 1e6:6.1f} us", flush=True)
            time.sleep(a.pause)
    print(f"windows' minimum: {min(mins) * 1e6:.1f} to {max(mins) * 1e6:.1f} us "
          f"(ratio {max(mins) / min(mins):.2f})")


if __name__ == "__main__":
    main()
