#!/usr/bin/env python3
"""The particles example with its event loop restructured around a batch point (``phasm_perf.bench.batch_point``).

The physics is ``particles.py``'s own (imported, not copied): only the line that pushed the particles one at a
time now hands the whole event to ``batch_point``. Run normally it gives exactly the same numbers; under
``phasm-perf bench --function particles:boris_push`` the surrogate answers each event as one batch.

    python examples/particles_batched.py --events 40 --particles 25 --steps 1000
"""

import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import particles  # noqa: E402

try:
    from phasm_perf.bench import batch_point
except ImportError:  # without phasm-perf the batch point is the plain loop
    def batch_point(func, calls):
        return [func(*c) for c in calls]


def run(events, nparticles, nsteps, seed, out):
    rng = random.Random(seed)
    checksum = 0.0
    for _ in range(events):
        parts = particles.generate_event(rng, nparticles)
        hits = batch_point(particles.boris_push, [(*p, nsteps) for p in parts])
        checksum += sum(h[0] + h[1] + h[2] for h in hits)
        particles.read_out(hits, out)
    return checksum


def main(argv=None):
    particles.run = run  # particles.main looks the name up in its module
    return particles.main(argv)


if __name__ == "__main__":
    sys.exit(main())
