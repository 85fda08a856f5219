"""A program with a known compute/sleep split: ``split.py COMPUTE_SECONDS SLEEP_SECONDS ROUNDS``.

It prints the compute and sleep time it actually spent (perf_counter), the truth the profile is checked against.
"""
import sys
import time


def busy(seconds):
    end = time.perf_counter() + seconds
    x = 0
    while time.perf_counter() < end:
        x += 1
    return x


def idle(seconds):
    time.sleep(seconds)


def main():
    compute, sleep, rounds = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
    spent_c = spent_s = 0.0
    for _ in range(rounds):
        t0 = time.perf_counter()
        busy(compute / rounds)
        t1 = time.perf_counter()
        idle(sleep / rounds)
        t2 = time.perf_counter()
        spent_c += t1 - t0
        spent_s += t2 - t1
    print(f"compute {spent_c:.6f} sleep {spent_s:.6f}")


main()
