"""Model-variable discovery: a function's real inputs and outputs (``phasm-perf vars``).

- :mod:`.schema`  the result, shared by Python and compiled-code discovery, read by rank and bench
"""
