#!/usr/bin/env python3
"""A kernel called 1,000,000 times from a time-step loop (the shape that made the old counting pass slow)."""
import math
import sys


def kernel(x, y):
    return math.sqrt(x * x + y * y) * math.exp(-0.001 * x)


def step(t, n):
    s = 0.0
    for i in range(n):
        s += kernel(t + i * 1e-3, 0.5 * i)
    return s


def run(steps, n):
    total = 0.0
    for t in range(steps):
        total += step(t * 0.01, n)
    return total


if __name__ == "__main__":
    print(run(int(sys.argv[1]) if len(sys.argv) > 1 else 1000, 1000))
