"""Austin's output (``austin --full``: a wall-time delta and an idle flag per sample, so on-CPU and off-CPU come
from one run; plain mode: one metric per sample, all on-CPU). The parsing itself lives with the collector."""

from __future__ import annotations

import re
from pathlib import Path

from ...collect.collectors import parse_austin
from ...core.errors import PhasmError
from .base import Profile

_SAMPLE = re.compile(r"^P\d+;T[\w:.-]+;.* [\d,]+$", re.M)


def sniff(head: str) -> bool:
    return head.startswith("# austin:") or bool(_SAMPLE.search(head))


def read(path: Path) -> Profile:
    s = parse_austin(Path(path))
    if not s.on_cpu and not s.off_cpu:
        raise PhasmError(f"{str(path)!r} holds no Austin sample with Python frames")
    full = any(ln.startswith("# mode: full") for ln in _header(path))
    notes = [f"{s.invalid} invalid sample(s) skipped"] if s.invalid else []
    return Profile(s.on_cpu, s.off_cpu, format="austin", weight_unit=s.weight_unit,
                   seconds_per_unit=s.seconds_per_unit, off_cpu_known=full or bool(s.off_cpu), threads=s.threads,
                   notes=notes)


def _header(path: Path) -> list[str]:
    out = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if not line.startswith("#"):
                break
            out.append(line.strip())
    return out


__all__ = ["read", "sniff"]
