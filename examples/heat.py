#!/usr/bin/env python3
"""Relaxation sweep of the 2-D heat equation with a non-linear source term, in the style of legacy solver code.

Each time step runs Jacobi sweeps over the grid (``relax``, numpy), evaluates a pointwise source term per cell in
plain Python (``source_term``: a pure function of a few numbers, the surrogate candidate), and every few steps
writes a checkpoint to disk (``checkpoint``: I/O and waiting).

    python examples/heat.py --n 64 --steps 60
"""

import argparse
import math
import os
import sys
import tempfile
import time

import numpy as np

ALPHA = 0.1
SWEEPS = 20
CHECKPOINT_EVERY = 10
STORAGE_LATENCY = 0.02  # seconds: a slow parallel file system


def source_term(u, x, y, t):
    """Arrhenius-like reaction rate plus a moving heater: expensive per cell, smooth in its inputs."""
    rate = 0.5 * math.exp(-1.0 / (0.05 + abs(u))) * (1.0 - u)
    heater = math.exp(-((x - 0.5 - 0.3 * math.cos(t)) ** 2 + (y - 0.5 - 0.3 * math.sin(t)) ** 2) / 0.01)
    return rate + 2.0 * heater


def relax(u, f, dt):
    """Jacobi sweeps of (I - dt*alpha*Laplacian) u_new = u + dt f on the interior."""
    n = u.shape[0]
    h2 = (1.0 / (n - 1)) ** 2
    k = dt * ALPHA / h2
    rhs = u + dt * f
    v = u.copy()
    for _ in range(SWEEPS):
        v[1:-1, 1:-1] = (rhs[1:-1, 1:-1] + k * (v[2:, 1:-1] + v[:-2, 1:-1] + v[1:-1, 2:] + v[1:-1, :-2])) / (1 + 4 * k)
    return v


def sources(u, t):
    n = u.shape[0]
    f = np.zeros_like(u)
    for i in range(1, n - 1):
        for j in range(1, n - 1):
            f[i, j] = source_term(u[i, j], i / (n - 1), j / (n - 1), t)
    return f


def checkpoint(u, step, folder):
    time.sleep(STORAGE_LATENCY)
    path = os.path.join(folder, f"u{step:05d}.npy")
    with open(path, "wb") as fh:
        np.save(fh, u)
        fh.flush()
        os.fsync(fh.fileno())


def solve(n, steps, dt, folder):
    u = np.zeros((n, n))
    for step in range(steps):
        t = step * dt
        f = sources(u, t)
        u = relax(u, f, dt)
        if step % CHECKPOINT_EVERY == 0:
            checkpoint(u, step, folder)
    return u


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--dt", type=float, default=0.01)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        u = solve(args.n, args.steps, args.dt, folder)
    print(f"mean {u.mean():.9e} max {u.max():.9e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
