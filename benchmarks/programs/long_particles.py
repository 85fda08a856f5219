#!/usr/bin/env python3
"""examples/particles.py's event loop, run for a given time instead of a given number of events: the program
behind benchmarks/long_run.py (phasm-perf's own memory and bundle size over long runs).

    python benchmarks/programs/long_particles.py --seconds 1200

Each event pushes 25 particles 1000 steps (``boris_push``, ``field_at``: compute) and waits 10 ms in the read-out
(off-CPU), as the example does; the hits go to an in-memory buffer that is reset every event, so the program's
own memory stays flat and its distinct stacks are the same at every length.
"""

import argparse
import io
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
import particles  # noqa: E402


def read_out(hits, out: io.StringIO) -> None:
    time.sleep(particles.DAQ_LATENCY)
    out.seek(0)
    out.truncate()
    for h in hits:
        out.write(" ".join(f"{v:.6e}" for v in h) + "\n")


def run(seconds: float, seed: int = 1) -> tuple[int, float]:
    rng = random.Random(seed)
    out = io.StringIO()
    deadline = time.monotonic() + seconds
    events, checksum = 0, 0.0
    while time.monotonic() < deadline:
        parts = particles.generate_event(rng, 25)
        hits = [particles.boris_push(*p, 1000) for p in parts]
        checksum += sum(h[0] + h[1] + h[2] for h in hits)
        read_out(hits, out)
        events += 1
    return events, checksum


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    args = ap.parse_args(argv)
    events, checksum = run(args.seconds)
    print(f"events {events} checksum {checksum:.9e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
