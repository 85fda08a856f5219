"""How phasm-perf prints quantities: times, bytes, rates, FLOP/s, speedups and shares, everywhere the same.

Three significant digits, SI prefixes, ``µs`` for microseconds (never ``us``), ``-`` for a missing value.

    >>> fmt_seconds(2.5e-5), fmt_bytes(2_097_152), fmt_bandwidth(1.9e10), fmt_flops(2.49e11), fmt_speedup(3.561)
    ('25 µs', '2.1 MB', '19 GB/s', '249 GFLOP/s', '3.56×')
"""

from __future__ import annotations

import math

_TIME = (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9))
_DECIMAL = (("T", 1e12), ("G", 1e9), ("M", 1e6), ("K", 1e3))


def _missing(v: float | None) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def fmt_seconds(s: float | None) -> str:
    """``2.5e-5`` -> ``'25 µs'``; below a nanosecond in scientific notation."""
    if _missing(s):
        return "-"
    if s == 0:
        return "0 s"
    for unit, scale in _TIME:
        if abs(s) >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s:.2e} s"


def _prefixed(v: float, unit: str) -> str:
    for prefix, scale in _DECIMAL:
        if abs(v) >= scale:
            return f"{v / scale:.3g} {prefix}{unit}"
    return f"{v:.3g} {unit}"


def fmt_bytes(v: float | None) -> str:
    """Decimal (``KB`` = 1000 B), as bandwidths are."""
    if _missing(v):
        return "-"
    return _prefixed(v, "B") if abs(v) >= 1e3 else f"{v:.0f} B"


def fmt_bandwidth(v: float | None) -> str:
    return "-" if _missing(v) else _prefixed(v, "B/s")


def fmt_flops(v: float | None) -> str:
    """FLOP/s."""
    return "-" if _missing(v) or not v else _prefixed(v, "FLOP/s")


def fmt_flop_count(v: float | None) -> str:
    """A number of floating-point operations: ``3e9`` -> ``'3 GFLOP'``."""
    return "-" if _missing(v) else _prefixed(v, "FLOP")


def fmt_speedup(x: float | None) -> str:
    if _missing(x):
        return "-"
    return "∞" if math.isinf(x) else f"{x:.2f}×"


def fmt_share(x: float | None) -> str:
    """A fraction as a percentage: ``0.362`` -> ``'36.2%'``."""
    return "-" if _missing(x) else f"{100 * x:.1f}%"


def fmt_signed_share(x: float | None) -> str:
    """A relative error: ``-0.083`` -> ``'-8.3%'``, with its sign always shown."""
    return "-" if _missing(x) else f"{100 * x:+.1f}%"


__all__ = ["fmt_seconds", "fmt_bytes", "fmt_bandwidth", "fmt_flops", "fmt_flop_count", "fmt_speedup", "fmt_share",
           "fmt_signed_share"]
