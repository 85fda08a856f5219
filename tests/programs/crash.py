import ctypes
import time


def work():
    end = time.perf_counter() + 0.6
    while time.perf_counter() < end:
        pass


work()
ctypes.string_at(0)  # segmentation fault
