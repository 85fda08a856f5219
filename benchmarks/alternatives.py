"""What to try instead of a surrogate, measured: examples/particles.py end to end with each alternative.

The figures of playbook/when-a-surrogate-does-not-pay.md. The program's own ``run`` loop (40 events of 25
particles, 1,000 Boris steps each, a 10 ms DAQ wait and an fsync per event) is timed in this process, with:

- ``original``: the program as it is;
- ``numba``: ``field_at`` and ``boris_push`` compiled by Numba's ``njit`` (the same source; the compile time is
  reported apart: it is paid once per process, or never with ``cache=True``);
- ``numpy-batched``: the loop restructured so the 25 particles of an event are pushed together, as arrays (what
  a batch point needs too), the step loop left in Python;
- ``numba-batched``: the batched loop compiled by Numba;
- ``overlap``: the read-out (the DAQ wait and the write) handed to a thread, so the next event is computed while
  the last one waits;
- ``numba+overlap``: both.

Variants run interleaved, ``--repeats`` times each; the figure is the median wall time, with the spread
(min-max). Every variant's checksum is compared with the original's (relative difference printed).

    python benchmarks/alternatives.py --repeats 5            # needs numba: pip install -e '.[jit]'
    python benchmarks/alternatives.py --program heat --repeats 5
    python benchmarks/alternatives.py --events 10 --repeats 3

For ``examples/heat.py`` (``--program heat``): ``numba-function`` compiles ``source_term`` alone (still called
once per cell from Python), ``numba-loop`` compiles the loop over the cells (``sources``) with it,
``numpy-batched`` evaluates the source term over the whole grid as one numpy expression (the cells are
independent: the batch a surrogate would need), ``overlap`` writes the checkpoints from a thread.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import importlib.util
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def load(name):
    spec = importlib.util.spec_from_file_location(f"{name}_bench", ROOT / "examples" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


P = load("particles")
H = load("heat")


def push_batch(x, y, z, vx, vy, vz, nsteps):
    """``boris_push`` on arrays: every particle of the event in one go (numpy), the step loop in Python."""
    k = 0.5 * P.Q_OVER_M * P.DT
    for _ in range(nsteps):
        r2 = x * x + y * y
        fringe = 1.0 / (1.0 + np.exp((np.sqrt(r2) - P.R_SOLENOID) * 8.0))
        bz = P.B0 * fringe * (1.0 - 0.05 * z * z)
        br = -0.5 * P.B0 * fringe * 0.1 * z
        r = np.sqrt(r2) + 1e-12
        tx, ty, tz = k * br * x / r, k * br * y / r, k * bz
        px, py, pz = vx + (vy * tz - vz * ty), vy + (vz * tx - vx * tz), vz + (vx * ty - vy * tx)
        t2 = tx * tx + ty * ty + tz * tz
        sx, sy, sz = 2 * tx / (1 + t2), 2 * ty / (1 + t2), 2 * tz / (1 + t2)
        vx, vy, vz = vx + (py * sz - pz * sy), vy + (pz * sx - px * sz), vz + (px * sy - py * sx)
        x, y, z = x + vx * P.DT, y + vy * P.DT, z + vz * P.DT
    return x, y, z, vx, vy, vz


def run_batched(push, events, nparticles, nsteps, seed, out, read_out=None):
    """``particles.run`` with the per-particle calls replaced by one call per event on arrays."""
    import random
    rng = random.Random(seed)
    checksum = 0.0
    for _ in range(events):
        parts = np.array(P.generate_event(rng, nparticles)).T.copy()
        x, y, z, vx, vy, vz = push(*parts, nsteps)
        hits = [tuple(map(float, h)) for h in np.stack([x, y, z, vx, vy, vz], axis=1)]
        checksum += sum(h[0] + h[1] + h[2] for h in hits)
        (read_out or P.read_out)(hits, out)
    return checksum


def run_overlapped(boris, events, nparticles, nsteps, seed, out):
    """``particles.run`` with the read-out of event i running in a thread while event i+1 is computed."""
    import random
    rng = random.Random(seed)
    checksum = 0.0
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pending = None
        for _ in range(events):
            parts = P.generate_event(rng, nparticles)
            hits = [boris(*p, nsteps) for p in parts]
            checksum += sum(h[0] + h[1] + h[2] for h in hits)
            if pending is not None:
                pending.result()
            pending = pool.submit(P.read_out, hits, out)
        if pending is not None:
            pending.result()
    return checksum


def numba_versions():
    """(boris_push, push_batch, seconds to compile both) compiled by Numba from the same source."""
    import numba
    t0 = time.perf_counter()
    field = numba.njit(P.field_at)
    g_field, P.field_at = P.field_at, field        # boris_push's global field_at is the compiled one at compile time
    try:
        boris = numba.njit(P.boris_push)
        boris(0.0, 0.0, 0.0, 1.0, 1.0, 0.1, 2)
    finally:
        P.field_at = g_field
    batch = numba.njit(_push_batch_loops)
    z = np.zeros(2)
    batch(z, z, z, z + 1, z + 1, z, 2)
    return boris, batch, time.perf_counter() - t0


def _push_batch_loops(x, y, z, vx, vy, vz, nsteps):
    """The batched push written as loops over particles and steps (what Numba compiles well)."""
    k = 0.5 * 0.3 * 1.0e-3
    x, y, z, vx, vy, vz = x.copy(), y.copy(), z.copy(), vx.copy(), vy.copy(), vz.copy()
    for i in range(x.shape[0]):
        for _ in range(nsteps):
            r2 = x[i] * x[i] + y[i] * y[i]
            fringe = 1.0 / (1.0 + math.exp((math.sqrt(r2) - 1.2) * 8.0))
            bz = 2.0 * fringe * (1.0 - 0.05 * z[i] * z[i])
            br = -0.5 * 2.0 * fringe * 0.1 * z[i]
            r = math.sqrt(r2) + 1e-12
            tx, ty, tz = k * br * x[i] / r, k * br * y[i] / r, k * bz
            px = vx[i] + (vy[i] * tz - vz[i] * ty)
            py = vy[i] + (vz[i] * tx - vx[i] * tz)
            pz = vz[i] + (vx[i] * ty - vy[i] * tx)
            t2 = tx * tx + ty * ty + tz * tz
            sx, sy, sz = 2 * tx / (1 + t2), 2 * ty / (1 + t2), 2 * tz / (1 + t2)
            vx[i] = vx[i] + (py * sz - pz * sy)
            vy[i] = vy[i] + (pz * sx - px * sz)
            vz[i] = vz[i] + (px * sy - py * sx)
            x[i], y[i], z[i] = x[i] + vx[i] * 1.0e-3, y[i] + vy[i] * 1.0e-3, z[i] + vz[i] * 1.0e-3
    return x, y, z, vx, vy, vz


def variants(boris_nb, batch_nb):
    return {
        "original": lambda a, out: P.run(a.events, a.particles, a.steps, a.seed, out),
        "numba": lambda a, out: _with(P, "boris_push", boris_nb, lambda: P.run(a.events, a.particles, a.steps,
                                                                            a.seed, out)),
        "numpy-batched": lambda a, out: run_batched(push_batch, a.events, a.particles, a.steps, a.seed, out),
        "numba-batched": lambda a, out: run_batched(batch_nb, a.events, a.particles, a.steps, a.seed, out),
        "overlap": lambda a, out: run_overlapped(P.boris_push, a.events, a.particles, a.steps, a.seed, out),
        "numba+overlap": lambda a, out: run_overlapped(boris_nb, a.events, a.particles, a.steps, a.seed, out),
    }


def heat_sources_vectorised(u, t):
    """``heat.sources`` with the per-cell calls of ``source_term`` as one numpy expression over the grid."""
    n = u.shape[0]
    f = np.zeros_like(u)
    i, j = np.meshgrid(np.arange(1, n - 1) / (n - 1), np.arange(1, n - 1) / (n - 1), indexing="ij")
    v = u[1:-1, 1:-1]
    rate = 0.5 * np.exp(-1.0 / (0.05 + np.abs(v))) * (1.0 - v)
    heater = np.exp(-((i - 0.5 - 0.3 * math.cos(t)) ** 2 + (j - 0.5 - 0.3 * math.sin(t)) ** 2) / 0.01)
    f[1:-1, 1:-1] = rate + 2.0 * heater
    return f


def heat_variants():
    """(variants, compile seconds) for examples/heat.py."""
    import numba
    t0 = time.perf_counter()
    term_nb = numba.njit(H.source_term)
    term_nb(0.1, 0.2, 0.3, 0.0)
    old, H.source_term = H.source_term, term_nb        # heat.sources compiled against the compiled source_term
    try:
        sources_nb = numba.njit(H.sources)
        sources_nb(np.zeros((4, 4)), 0.0)
    finally:
        H.source_term = old
    compile_s = time.perf_counter() - t0

    def solve(a, folder):
        return float(H.solve(a.n, a.steps, a.dt, folder).mean())

    def solve_overlapped(a, folder):
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            pending = []
            real = H.checkpoint
            try:
                H.checkpoint = lambda u, step, fo: pending.append(pool.submit(real, u.copy(), step, fo))
                return solve(a, folder)
            finally:
                H.checkpoint = real
                for p in pending:
                    p.result()

    runs = {
        "original": solve,
        "numba-function": lambda a, fo: _with(H, "source_term", term_nb, lambda: solve(a, fo)),
        "numba-loop": lambda a, fo: _with(H, "sources", sources_nb, lambda: solve(a, fo)),
        "numpy-batched": lambda a, fo: _with(H, "sources", heat_sources_vectorised, lambda: solve(a, fo)),
        "overlap": solve_overlapped,
        "numba-loop+overlap": lambda a, fo: _with(H, "sources", sources_nb, lambda: solve_overlapped(a, fo)),
    }
    return runs, compile_s


def _with(mod, name, value, fn):
    old = getattr(mod, name)
    setattr(mod, name, value)
    try:
        return fn()
    finally:
        setattr(mod, name, old)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--program", choices=["particles", "heat"], default="particles")
    ap.add_argument("--events", type=int, default=40)
    ap.add_argument("--particles", type=int, default=25)
    ap.add_argument("--steps", type=int, default=None, help="particles: 1000 Boris steps; heat: 60 time steps")
    ap.add_argument("--n", type=int, default=64, help="heat: grid size")
    ap.add_argument("--dt", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    if args.program == "particles":
        args.steps = args.steps or 1000
        boris_nb, batch_nb, compile_s = numba_versions()
        runs = variants(boris_nb, batch_nb)
        what = f"examples/particles.py --events {args.events} --particles {args.particles} --steps {args.steps}"
    else:
        args.steps = args.steps or 60
        runs, compile_s = heat_variants()
        what = f"examples/heat.py --n {args.n} --steps {args.steps}"
    times = {name: [] for name in runs}
    sums = {}
    for r in range(args.repeats):
        order = list(runs) if r % 2 == 0 else list(reversed(runs))        # ABBA
        for name in order:
            with tempfile.TemporaryFile("w") as out, tempfile.TemporaryDirectory() as folder:
                t0 = time.perf_counter()
                sums[name] = runs[name](args, out if args.program == "particles" else folder)
                times[name].append(time.perf_counter() - t0)
    base = statistics.median(times["original"])
    print(f"{what}: median of {args.repeats}, wall seconds; numba compile (once per process) {compile_s:.2f} s")
    print(f"{'variant':19} {'seconds':>8} {'min-max':>15} {'speedup':>8} {'checksum rel. diff':>19}")
    for name, ts in times.items():
        med = statistics.median(ts)
        diff = abs(sums[name] - sums["original"]) / abs(sums["original"])
        print(f"{name:19} {med:8.3f} {min(ts):7.3f}-{max(ts):<7.3f} {base / med:7.2f}x {diff:19.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
