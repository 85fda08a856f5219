import sys
import time


def work():
    end = time.perf_counter() + 0.6
    while time.perf_counter() < end:
        pass


work()
print("about to fail", file=sys.stderr)
sys.exit(3)
