#!/usr/bin/env python3
"""The heat example with its source loop restructured around a batch point (``phasm_perf.bench.batch_point``).

The physics is ``heat.py``'s own (imported, not copied): only ``sources`` changes, from one ``source_term`` call per
cell to one batch point per time step holding every interior cell. Run normally it gives exactly the same numbers;
under ``phasm-perf bench --function heat:source_term`` the surrogate answers each time step as one batch.

    python examples/heat_batched.py --n 64 --steps 60
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import heat  # noqa: E402

try:
    from phasm_perf.bench import batch_point
except ImportError:  # without phasm-perf the batch point is the plain loop
    def batch_point(func, calls):
        return [func(*c) for c in calls]


def sources(u, t):
    n = u.shape[0]
    f = np.zeros_like(u)
    cells = [(i, j) for i in range(1, n - 1) for j in range(1, n - 1)]
    values = batch_point(heat.source_term, [(u[i, j], i / (n - 1), j / (n - 1), t) for i, j in cells])
    for (i, j), v in zip(cells, values):
        f[i, j] = v
    return f


def main(argv=None):
    heat.sources = sources  # heat.solve looks the name up in its module at every step
    return heat.main(argv)


if __name__ == "__main__":
    sys.exit(main())
