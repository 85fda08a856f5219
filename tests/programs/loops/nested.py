"""Nested drivers: main -> run -> event -> step. main and run are called once; event once per event, step many
times per event: the loop is run, the innermost frame called only a few times that holds the run."""
import math


def step(x):
    s = 0.0
    for k in range(60):
        s += math.sqrt(abs(math.sin(x + k)))
    return s


def event(e):
    return sum(step(e * 0.1 + i) for i in range(40))


def run(events):
    total = 0.0
    for e in range(events):
        total += event(e)
    return total


def main():
    print(run(2400))


main()
