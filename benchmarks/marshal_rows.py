"""Rows of numbers into a tensor and back: the ways ``phasm_perf.core.marshal`` chooses between, side by side.

A program hands the surrogate rows of Python floats, or numpy scalars read from an array mixed with floats
(``heat_batched``: ``(u[i, j], x, y, t)``). Each way is timed on the same rows in one run, interleaved (best of 7
rounds), in ns per row, for several batch sizes:

- ``assign``: into a preallocated buffer (``buf[:] = rows``): what ``marshal`` uses below ``FROMITER_ROWS``;
- ``fromiter``: ``numpy.fromiter`` over the chained rows: what it uses from ``FROMITER_ROWS`` rows on;
- ``np.array``, ``torch.tensor``: the obvious alternatives;
- ``marshal``: ``rows_to_tensor`` itself (whichever way it picks);

and the results back: ``tolist`` (Python floats), numpy scalars one by one (``np.float64(v)``) and in one call
(``marshal.result_converter``).

    .venv/bin/python benchmarks/marshal_rows.py
"""

from __future__ import annotations

import itertools
import timeit

import numpy as np
import torch

from phasm_perf.bench.flatten import compile_unflattener
from phasm_perf.core.marshal import FROMITER_ROWS, result_converter, rows_to_tensor

torch.set_num_threads(1)
_chain = itertools.chain.from_iterable


def per_row(fn, rows: int, rounds: int = 7) -> float:
    number = max(1, 20000 // rows)
    return min(timeit.repeat(fn, number=number, repeat=rounds)) / number / rows * 1e9


def main() -> None:
    u = np.linspace(0.0, 1.0, 48 * 48).reshape(48, 48)
    print(f"FROMITER_ROWS = {FROMITER_ROWS}; ns per row of 4 numbers (best of 7)\n")
    print("| rows | kind | assign | fromiter | np.array | torch.tensor | marshal |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for n in (1, 8, 16, 32, 64, 256, 2116):
        mixed = [(u[i % 48, (i // 48) % 48], i / 47, (i * 7 % 47) / 47, 0.3) for i in range(n)]
        floats = [tuple(float(v) for v in r) for r in mixed]
        for kind, rows in (("numpy+float", mixed), ("float", floats)):
            buf = np.empty((n, 4), dtype=np.float32)
            bufs: dict = {}
            t = {
                "assign": per_row(lambda: buf.__setitem__(slice(None), rows), n),
                "fromiter": per_row(lambda: np.fromiter(_chain(rows), dtype=np.float32, count=4 * n), n),
                "np.array": per_row(lambda: np.array(rows, dtype=np.float32), n),
                "torch.tensor": per_row(lambda: torch.tensor(rows, dtype=torch.float32), n),
                "marshal": per_row(lambda: rows_to_tensor(rows, 4, "float32", bufs, torch.from_numpy), n),
            }
            print(f"| {n} | {kind} | " + " | ".join(f"{v:.0f}" for v in t.values()) + " |")
    y = torch.rand(2116, 1)
    np_float = {"kind": "float", "np": "float64"}
    to_np = result_converter(np_float, compile_unflattener(np_float))
    print("\nresults back, ns per value (2,116 rows, 1 output):")
    print(f"- tolist (Python floats): {per_row(lambda: y.reshape(-1).tolist(), 2116):.0f}")
    print(f"- np.float64(v) one by one: {per_row(lambda: [np.float64(v) for v in y.reshape(-1).tolist()], 2116):.0f}")
    print(f"- result_converter (numpy scalars in one call): {per_row(lambda: to_np(y), 2116):.0f}")


if __name__ == "__main__":
    main()
