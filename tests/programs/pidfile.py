"""``pidfile.py PATH [SECONDS]``: write this process's pid to PATH, then compute for SECONDS (default 60) and exit;
a test kills it (or phasm-perf) part way."""
import os
import sys
import time


def spin(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


with open(sys.argv[1] + ".tmp", "w") as fh:
    fh.write(str(os.getpid()))
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
stop = time.perf_counter() + (float(sys.argv[2]) if len(sys.argv) > 2 else 60.0)
while time.perf_counter() < stop:
    spin(0.05)
