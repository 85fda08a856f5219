"""The event loop is main's own loop: main runs once, calls step 3000 times."""
import math


def setup(n):
    return [math.sin(i) for i in range(n)]


def step(state, t):
    s = 0.0
    for v in state:
        s += math.sin(v + t) * math.cos(v - t)
    return s


def main():
    state = setup(200)
    total = 0.0
    for t in range(30000):
        total += step(state, t * 1e-3)
    print(total)


main()
