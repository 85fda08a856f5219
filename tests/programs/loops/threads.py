"""Two worker threads do the work; the main thread waits for them: the loop is the workers' function."""
import math
import threading


def work(seed):
    s = 0.0
    for k in range(700):
        s += math.sin(seed + k) ** 2
    return s


def worker(n, out, i):
    total = 0.0
    for j in range(n):
        total += work(j)
    out[i] = total


def main():
    out = [0.0, 0.0]
    ts = [threading.Thread(target=worker, args=(4000, out, i)) for i in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(sum(out))


main()
