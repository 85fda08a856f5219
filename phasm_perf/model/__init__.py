"""Stage 3b, predict: the performance laws as pure, typed functions of numbers (no I/O, no printing)."""

from .laws import amdahl_limit

__all__ = ["amdahl_limit"]
