"""Numbers in and out of a surrogate's tensors, the way the swapped-in function does it (and ``hw measure`` times).

One module for both, so the model's marshalling figures are measured on the code the program runs.

Rows are tuples or lists of numbers (Python floats and ints, or numpy scalars, mixed as a program passes them).
They are copied into a preallocated buffer per batch size whose tensor is made once: below :data:`FROMITER_ROWS`
rows by one numpy assignment (the cheapest for a call or a few), from there on through ``numpy.fromiter`` over the
chained rows, which does not take numpy's generic path for every numpy scalar. Measured on Zen 4 with numpy 2 (ns
per row of 4 numbers, best of 7, ``benchmarks/marshal_rows.py``): at 2,116 rows the assignment takes 244 (numpy
scalars mixed with floats) and 157 (floats), this module 142 and 87; at 32 rows 254/162 against 199/143; at 1 row
0.6 and 0.5 µs both ways.
"""

from __future__ import annotations

import itertools
from typing import Any, Callable, Sequence

import numpy

#: from this many rows on, ``numpy.fromiter`` over the chained rows beats a buffer assignment
FROMITER_ROWS = 32
#: preallocated buffers kept per thread (one per batch size); past this many they are dropped and made again
MAX_BUFFERS = 32

_chain = itertools.chain.from_iterable


def rows_to_tensor(rows: Sequence[Sequence[Any]], n_in: int, np_dtype: str, bufs: dict,
                   from_numpy: Callable[[Any], Any]) -> Any:
    """A ``(len(rows), n_in)`` tensor of ``np_dtype`` holding ``rows`` (``from_numpy`` is ``torch.from_numpy``).

    ``bufs`` caches one preallocated buffer and its tensor per batch size, at most :data:`MAX_BUFFERS` (the caller
    keeps one per thread); the returned tensor is only valid until the next call with the same ``bufs`` and size.
    """
    k = len(rows)
    pair = bufs.get(k)
    if pair is None:
        if len(bufs) >= MAX_BUFFERS:  # a program that forms many batch sizes: keep memory bounded
            bufs.clear()
        arr = numpy.empty((k, n_in), dtype=np_dtype)
        pair = bufs[k] = (arr, from_numpy(arr))
    if k >= FROMITER_ROWS:
        # no count: a row too wide must not shift the others silently (a count stops early without a word)
        flat = numpy.fromiter(_chain(rows), dtype=np_dtype)
        if flat.size != k * n_in:
            raise ValueError(f"{k} rows of {n_in} numbers expected, got {flat.size} numbers")
        pair[0].reshape(-1)[:] = flat  # a copy (about 1% of the conversion) spares a new tensor per call
    else:
        pair[0][:] = rows
    return pair[1]


def result_converter(schema: dict, unflat: Callable[[list], Any]) -> Callable[[Any], list]:
    """``f(y)``: the results of a batch (a ``(B, outputs)`` tensor) as the function would have returned them.

    A float result (a Python float or the numpy scalar type the original returned) and a tuple of Python floats
    have fast paths; anything else is rebuilt row by row from its schema with ``unflat``.
    """
    if schema["kind"] == "float":
        if "np" not in schema:
            return lambda y: y.reshape(-1).tolist()
        np_type = numpy.dtype(schema["np"])

        def to_numpy_scalars(y):
            # numpy scalars of the original's type, converted in one call (2x faster than np.float64(v) per value)
            y = y.reshape(-1).cpu()
            if str(y.dtype) == "torch.bfloat16":  # numpy has no bfloat16
                y = y.float()
            return list(y.numpy().astype(np_type, copy=False))
        return to_numpy_scalars
    if schema["kind"] == "tuple" and all(r["kind"] == "float" and "np" not in r for r in schema["items"]):
        return lambda y: [tuple(r) for r in y.tolist()]
    return lambda y: [unflat(r) for r in y.tolist()]
