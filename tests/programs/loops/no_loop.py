"""No event loop: three phases, each a third of the run, each called once."""
import math


def phase_a():
    return sum(math.sin(i) for i in range(4000000))


def phase_b():
    return sum(math.cos(i) * 0.5 for i in range(4000000))


def phase_c():
    s = 0.0
    for i in range(4000000):
        s += math.sqrt(i)
    return s


def main():
    print(phase_a() + phase_b() + phase_c())


main()
