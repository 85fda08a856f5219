"""Stage 5, check: capture a function's inputs and outputs, train and time a real surrogate, swap it in, and
set every measured number beside the model's prediction.

- :mod:`.batching`  ``batch_point``: the one-line change that lets a program hand the surrogate a batch
- :mod:`.flatten`   numbers <-> flat vectors (the schema of arguments and results)
- :mod:`.capture`   the capture run (``MODULE:QUALNAME``, sample budget, what could not be flattened)
- :mod:`.train`     the MLP surrogate: normalisation, split, early stopping, torch.export with its schema
- :mod:`.timing`    per-batch timing on a device (warm-up, synchronisation, median of repeats)
- :mod:`.swap`      baseline and surrogate runs of the program, interleaved, and how its output changed
- :mod:`.sweep`     shapes x batches x dtypes on Dask, one timed trial per device at a time
- :mod:`.report`    the JSON report (pydantic, versioned); its terminal and HTML renderings are in phasm_perf.report.bench

Importing this package is light (no torch): programs import :func:`batch_point` from here.
"""

from .batching import batch_point

__all__ = ["batch_point"]
