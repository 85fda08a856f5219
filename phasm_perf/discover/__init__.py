"""Model-variable discovery: a function's real inputs and outputs (``phasm-perf vars``).

- :mod:`.schema`     the result, shared by Python and compiled-code discovery, read by rank and bench
- :mod:`.python`     the parent's side for Python programs: run the program with the observer, build the report
- :mod:`._agent`     the observer inside the program (with :mod:`._call`, :mod:`._tracing`, :mod:`._batch`)
- :mod:`.bytecode`   where a code object reads and writes non-local names (its sites)
- :mod:`.paths`, :mod:`.values`   names as the user writes them, and values as numbers (both run in the program)

:func:`largest_batch` is the one number rank and predict need from it: the largest batch the program can form.
This package's ``__init__`` imports nothing: the observer runs inside the user's program, whose Python may lack
phasm-perf's own dependencies (pydantic).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .schema import VarsReport

DEPENDENT = "calls depend on each other: batch 1 unless the loop is restructured"


def largest_batch(report: VarsReport) -> int | None:
    """The largest batch the program can form as it stands: 1 when its calls depend on each other, else the calls
    one iteration of its loop offers; ``None`` when not determined."""
    b = report.batching
    if b.dependent:
        return 1
    return b.independent_calls


__all__ = ["DEPENDENT", "largest_batch"]
