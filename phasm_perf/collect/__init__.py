"""Collect: run a program once under a collector and write a profile *bundle* (:mod:`phasm_perf.core.bundle`).

- :mod:`.program`     what PROG is (Python script, Python command, ELF binary) and the argv to run it
- :mod:`.base`        what every collector is (:class:`~.base.Collector`) and the helpers they share
- :mod:`.collectors`  the collectors by name: :mod:`.austin` (default for Python), :mod:`.pyspy`, :mod:`.perf`
  (default for compiled programs), :mod:`.callgrind`, :mod:`.scalene`
- :mod:`.extras`      what a run adds around the collector (native symbols, GPU counters, PyTorch operators)
- :mod:`.counts`, :mod:`.native_counts`  exact call counts: the counting hook in the sampled run itself (Python),
  or a counting pass (uftrace for compiled programs) limited to the functions it is given
- :mod:`.run`         the profile run itself: signals, exit status, the bundle

Which functions a counting pass counts is the candidates' choice: :func:`phasm_perf.api.profile` passes it in.
:mod:`.run` is imported on first use (PEP 562): the command line reads :mod:`.program` while building ``--help``.
"""

from .program import Target, resolve_target


def __getattr__(name: str):
    if name in ("ProfileOptions", "profile"):
        from . import run  # pydantic (the bundle's types): not for `--help` (start-up time)

        return getattr(run, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = ["Target", "resolve_target", "ProfileOptions", "profile"]
