"""The collectors, by name: one module each, imported when chosen (a new collector is one module and one line
here). :func:`make_collector` builds one; a missing tool is one :class:`PhasmError` saying how to install it."""

from __future__ import annotations

import importlib

from ..core.errors import PhasmError
from .base import Collector

#: name -> (module in this package, class)
COLLECTORS: dict[str, tuple[str, str]] = {
    "austin": ("austin", "Austin"),
    "py-spy": ("pyspy", "PySpy"),
    "perf": ("perf", "Perf"),
    "callgrind": ("callgrind", "Callgrind"),
    "scalene": ("scalene", "Scalene"),
}


def make_collector(name: str, interval: float) -> Collector:
    try:
        module, cls = COLLECTORS[name]
    except KeyError:
        raise PhasmError(f"unknown collector {name!r}; choose one of: {', '.join(COLLECTORS)}") from None
    return getattr(importlib.import_module(f"{__package__}.{module}"), cls)(interval)


def availability() -> dict[str, str]:
    """Each collector's status on this machine: ``"available"`` or ``"unavailable (reason)"``."""
    out = {}
    for name in COLLECTORS:
        try:
            make_collector(name, 0.001)
            out[name] = "available"
        except PhasmError as exc:
            out[name] = f"unavailable ({exc})"
    return out
