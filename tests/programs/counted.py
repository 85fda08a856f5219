"""Functions with known call counts: ``leaf`` 3000 times, ``mid`` 60 times, recursive ``fib`` 21891 calls per
``fib(20)`` (10 of those: 218910 calls). Each takes a noticeable share of the run."""
import math


def leaf(i):
    s = 0.0
    for k in range(300):
        s += math.sin(i + k)
    return s


def mid(n):
    s = sum(leaf(i) for i in range(50))
    for k in range(20000):
        s += k * 0.5
    return s


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def main():
    total = 0.0
    for j in range(60):
        total += mid(j)
    for _ in range(10):
        total += fib(20)
    print(total)


main()
