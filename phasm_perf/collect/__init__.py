"""Collect: run a program once under a collector and write a profile *bundle* (:mod:`phasm_perf.core.bundle`).

- :mod:`.program`     what PROG is (Python script, Python command, ELF binary) and the argv to run it
- :mod:`.base`        what every collector is (:class:`~.base.Collector`) and the helpers they share
- :mod:`.collectors`  the collectors by name: :mod:`.austin` (default for Python), :mod:`.pyspy`, :mod:`.perf`
  (default for compiled programs), :mod:`.callgrind`, :mod:`.scalene`
- :mod:`.extras`      what a run adds around the collector (native symbols, GPU counters, PyTorch operators)
- :mod:`.counts`, :mod:`.native_counts`  the exact call-counting pass, limited to the functions it is given
- :mod:`.run`         the profile run itself: signals, exit status, the bundle

Which functions the counting pass counts is the candidates' choice: :func:`phasm_perf.api.profile` passes it in.
"""

from .program import Target, resolve_target
from .run import ProfileOptions, profile

__all__ = ["Target", "resolve_target", "ProfileOptions", "profile"]
