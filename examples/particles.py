#!/usr/bin/env python3
"""Charged particles stepped through a magnetic field: a toy detector simulation in the style of legacy code.

The event loop (``run``) generates an event of particles, pushes each one through the field with a Boris
integrator (``boris_push``, calling ``field_at`` for the field map), and hands the hits to the read-out
(``read_out``), which waits on the "DAQ" and writes to disk. ``boris_push`` is a pure numeric kernel: a few
floats in, a few floats out, called many times: the obvious surrogate candidate.

    python examples/particles.py --events 40 --particles 25 --steps 1000
"""

import argparse
import math
import os
import random
import sys
import tempfile
import time

# --- constants, as in the Fortran original -------------------------------------------------------------------
B0 = 2.0          # tesla, solenoid field on axis
R_SOLENOID = 1.2  # metres
Q_OVER_M = 0.3    # charge over mass, arbitrary units
DT = 1.0e-3
DAQ_LATENCY = 0.01   # seconds the read-out waits per event


def field_at(x, y, z):
    """Solenoid field map with a fringe field: smooth, cheap, called for every step of every particle."""
    r2 = x * x + y * y
    fringe = 1.0 / (1.0 + math.exp((math.sqrt(r2) - R_SOLENOID) * 8.0))
    bz = B0 * fringe * (1.0 - 0.05 * z * z)
    br = -0.5 * B0 * fringe * 0.1 * z
    r = math.sqrt(r2) + 1e-12
    return br * x / r, br * y / r, bz


def boris_push(x, y, z, vx, vy, vz, nsteps):
    """Push one particle ``nsteps`` steps through the field (Boris rotation). Returns the final phase space."""
    for _ in range(nsteps):
        bx, by, bz = field_at(x, y, z)
        tx, ty, tz = 0.5 * Q_OVER_M * DT * bx, 0.5 * Q_OVER_M * DT * by, 0.5 * Q_OVER_M * DT * bz
        # v' = v + v x t
        px = vx + (vy * tz - vz * ty)
        py = vy + (vz * tx - vx * tz)
        pz = vz + (vx * ty - vy * tx)
        t2 = tx * tx + ty * ty + tz * tz
        sx, sy, sz = 2 * tx / (1 + t2), 2 * ty / (1 + t2), 2 * tz / (1 + t2)
        vx = vx + (py * sz - pz * sy)
        vy = vy + (pz * sx - px * sz)
        vz = vz + (px * sy - py * sx)
        x, y, z = x + vx * DT, y + vy * DT, z + vz * DT
    return x, y, z, vx, vy, vz


def generate_event(rng, nparticles):
    parts = []
    for _ in range(nparticles):
        pt = rng.uniform(0.5, 5.0)
        phi = rng.uniform(0, 2 * math.pi)
        eta = rng.uniform(-1.5, 1.5)
        parts.append((0.0, 0.0, 0.0, pt * math.cos(phi), pt * math.sin(phi), pt * math.sinh(eta)))
    return parts


def read_out(hits, out):
    """Wait for the DAQ to accept the event, then write the hits (I/O, not compute)."""
    time.sleep(DAQ_LATENCY)
    for h in hits:
        out.write(" ".join(f"{v:.6e}" for v in h) + "\n")
    out.flush()
    os.fsync(out.fileno())


#: the program's own measure of each stage's inclusive time, seconds (the truth a profiler's shares are checked
#: against: benchmarks/accuracy.py, with --timings)
TIMERS = {}


def run(events, nparticles, nsteps, seed, out):
    rng = random.Random(seed)
    checksum = 0.0
    clock = time.perf_counter
    t = TIMERS
    for _ in range(events):
        t0 = clock()
        parts = generate_event(rng, nparticles)
        t1 = clock()
        hits = [boris_push(*p, nsteps) for p in parts]
        t2 = clock()
        checksum += sum(h[0] + h[1] + h[2] for h in hits)
        t3 = clock()
        read_out(hits, out)
        t4 = clock()
        for name, dt in (("generate_event", t1 - t0), ("boris_push", t2 - t1), ("read_out", t4 - t3)):
            t[name] = t.get(name, 0.0) + dt
    return checksum


def field_at_seconds(calls, samples=200000):
    """field_at's share of boris_push, measured apart: its time per call over a sample of typical positions,
    times the calls the run made (timing each of its million calls would double its cost)."""
    pts = [(0.3 * math.cos(i), 0.3 * math.sin(i), 0.001 * (i % 500)) for i in range(samples)]
    t0 = time.perf_counter()
    for x, y, z in pts:
        field_at(x, y, z)
    loop = time.perf_counter() - t0
    t0 = time.perf_counter()
    for x, y, z in pts:
        pass
    return (loop - (time.perf_counter() - t0)) / samples * calls


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=40)
    ap.add_argument("--particles", type=int, default=25)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--output", default=None, help="hits file (default: a temporary file)")
    ap.add_argument("--timings", default=None, help="write the program's own timings (JSON) to this file")
    args = ap.parse_args(argv)
    timers = TIMERS
    t_start = time.perf_counter()
    if args.output:
        out = open(args.output, "w")
    else:
        out = tempfile.TemporaryFile("w")
    with out:
        t_run = time.perf_counter()
        checksum = run(args.events, args.particles, args.steps, args.seed, out)
        timers["run"] = time.perf_counter() - t_run
    timers["main"] = time.perf_counter() - t_start
    if args.timings:
        import json

        timers["field_at"] = field_at_seconds(args.events * args.particles * args.steps)
        with open(args.timings, "w") as fh:
            json.dump(timers, fh)
    print(f"checksum {checksum:.9e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
