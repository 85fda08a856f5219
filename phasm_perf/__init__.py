"""phasm-perf: find the function worth replacing with a neural-network surrogate, predict the payoff, check it.

The package is laid out as the pipeline (see ``DESIGN.md``):

- :mod:`phasm_perf.collect`    run a program under a profiler and write a *bundle* (``profile``)
- :mod:`phasm_perf.calltree`   read stacks into a pandas call-tree model
- :mod:`phasm_perf.candidates` the candidate filters, each a small pure function
- :mod:`phasm_perf.model`      the performance laws (pure functions of numbers)
- :mod:`phasm_perf.report`     the ranking, its pydantic schema and its renderers
- :mod:`phasm_perf.cli`        the thin command line over all of the above

Notebooks use the same API: ``phasm_perf.api``.
"""

__version__ = "0.1.0"
