"""phasm-perf: find the function worth replacing with a neural-network surrogate, predict the payoff, check it.

The package is laid out as the pipeline, in layers whose imports point down only (``ARCHITECTURE.md``):

- :mod:`phasm_perf.cli`        the thin command line (parsing and printing)
- :mod:`phasm_perf.api`        the Python API that composes the stages (the command line and notebooks use it)
- :mod:`phasm_perf.report`     the ranking, its schema, its renderers, HTML pages and flame graphs
- :mod:`phasm_perf.bench`      capture, train, time and swap in a real surrogate
- :mod:`phasm_perf.predict`    the model applied to a hardware profile
- :mod:`phasm_perf.candidates` the candidate filters, each a small pure function
- :mod:`phasm_perf.discover`   a function's real inputs and outputs
- :mod:`phasm_perf.collect`    run a program under a profiler and write a *bundle*
- :mod:`phasm_perf.hardware`   hardware profiles: load, validate, measure
- :mod:`phasm_perf.calltree`   read stacks into a pandas call-tree model
- :mod:`phasm_perf.core`       errors, output files, the bundle, units: what every stage shares
- :mod:`phasm_perf.model`      the performance laws and the cost model (pure functions of numbers)
"""

__version__ = "0.1.0"
