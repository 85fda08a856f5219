"""``phasm-perf search``: the surrogate design space searched with Optuna, trials trained on Dask.

- :mod:`.run`        the whole search as one library call (:func:`~.run.run_search`)
- :mod:`.space`      what a trial draws (depth, widths, activation, dtype, learning rate, ...)
- :mod:`.loop`, :mod:`.optuna`   the study and its trials
- :mod:`.objectives`, :mod:`.pareto`, :mod:`.front`   error against predicted speedup, the Pareto front
- :mod:`.synthetic`  ``--synthetic N``: inputs sampled over the captured ranges, outputs from the original function
- :mod:`.results`, :mod:`.schema`   the report (``search.json``)

Optuna and Dask are imported by the modules that run a search, not here (the ``search`` extra).
"""
