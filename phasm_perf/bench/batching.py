"""The batch point: the one line a user changes in their loop so that ``bench`` can measure a batched surrogate.

    from phasm_perf.bench import batch_point

    hits = batch_point(boris_push, [(*p, nsteps) for p in parts])   # was: [boris_push(*p, nsteps) for p in parts]

Outside ``phasm-perf bench`` (and in its capture and baseline runs) this is exactly ``[func(*args) for args in
calls]``. When ``bench`` has swapped a surrogate in for ``func``, the whole list goes through the surrogate as one
batch of ``len(calls)``. Light on purpose: no torch, no numpy; safe to import from any program.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Iterable, Sequence

from ..core.hook.trampoline import BATCH_ATTR  # set on a swapped function: ``handler(self_or_None, calls) -> list``


def batch_point(func: Callable[..., Any], calls: Iterable[Sequence[Any]]) -> list:
    """Evaluate ``func(*args)`` for every ``args`` in ``calls`` and return the results in order.

    Each item of ``calls`` is a tuple (or list) of positional arguments. Under ``phasm-perf bench`` with the
    surrogate swapped in, all the calls are answered by one forward pass of the surrogate (batch ``len(calls)``).
    """
    calls = [tuple(c) for c in calls]
    handler = getattr(func, BATCH_ATTR, None)
    if handler is None:
        return [func(*c) for c in calls]
    bound_self = func.__self__ if inspect.ismethod(func) else None
    return handler(bound_self, calls)
