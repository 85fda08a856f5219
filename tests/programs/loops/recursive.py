"""A recursive driver: drive calls itself once per time step (300 steps) and advances the state each time."""
import math
import sys


def advance(state):
    return [math.sin(v) * 0.99 + 0.01 * math.cos(3 * v) for v in state]


def drive(step, steps, state):
    if step == steps:
        return state
    return drive(step + 1, steps, advance(state))


def main():
    sys.setrecursionlimit(2000)
    print(sum(drive(0, 300, [i * 0.01 for i in range(9000)])))


main()
