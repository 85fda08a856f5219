"""Functions that are pure enough for synthetic data, and functions that are not, each called 120 times.

    python synth.py FUNCTION
"""

import math
import sys

import numpy as np

COUNTER = 0
LAST = None


def pure(a, b, n):
    """Depends on its numbers only."""
    return math.sin(a) * b + n, a * b


def noisy(a, b, n):
    print("noisy called")
    return a + b


def stateful(a, b, n):
    """Its result depends on how often it was called."""
    global COUNTER
    COUNTER += 1
    return a + b + COUNTER


def caching(a, b, n):
    """Pure result, but it rebinds a module global."""
    global LAST
    LAST = (a, b)
    return a * b


def mutating(v, b, n):
    """Writes its array argument in place."""
    v += b
    return float(v.sum())


def bumping(v, b, n):
    """Its result does not depend on the array it bumps in place."""
    v[0] += 1.0
    return b * 2.0


def main(name):
    fn = globals()[name]
    total = 0.0
    for i in range(120):
        a, b = math.cos(i) * 2.0, 0.5 + (i % 7) / 7.0
        if name in ("mutating", "bumping"):
            r = fn(np.array([a, b]), b, 3)
        else:
            r = fn(a, b, 3)
        total += r if isinstance(r, float) else sum(r)
    sys.stdout.write(f"{total:.6f}\n")


if __name__ == "__main__":
    main(sys.argv[1])
