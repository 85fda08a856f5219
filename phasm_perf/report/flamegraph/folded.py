"""Folded stacks out: ``root;...;leaf COUNT`` with integer counts and ``;`` without spaces, which FlameGraph's
flamegraph.pl and speedscope both load. Decimal weights (seconds, say) are written in microseconds."""

from __future__ import annotations

from collections import Counter

from ...core.folded import iter_folded
from ...core.bundle import Bundle


def view_stacks(bundle: Bundle, view: str = "both") -> Counter:
    if view == "on":
        return bundle.on_cpu
    if view == "off":
        return bundle.off_cpu
    return bundle.on_cpu + bundle.off_cpu


def integer_stacks(stacks: Counter, seconds_per_unit: float) -> tuple[Counter, str | None]:
    """Integer weights: as they are when they already are, else microseconds (``seconds_per_unit`` converts)."""
    if all(float(w).is_integer() for w in stacks.values()):
        return Counter({k: int(w) for k, w in stacks.items() if w > 0}), None
    factor = seconds_per_unit * 1e6
    out = Counter({k: int(round(w * factor)) for k, w in stacks.items()})
    return +out, "weights written in microseconds (integer counts)"


def render(bundle: Bundle, view: str = "both", **_) -> str:
    stacks, _note = integer_stacks(view_stacks(bundle, view), bundle.meta.seconds_per_unit)
    return "".join(iter_folded(stacks))


__all__ = ["render", "integer_stacks", "view_stacks"]
