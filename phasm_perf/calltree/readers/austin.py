"""Austin's output (``austin --full``: a wall-time delta and an idle flag per sample, so on-CPU and off-CPU come
from one run; plain mode: one metric per sample, all on-CPU). The Austin collector parses its output here too."""

from __future__ import annotations

import re
from pathlib import Path

from ...core.errors import PhasmError
from ...core.folded import make_frame
from .base import Profile

_SAMPLE = re.compile(r"^P\d+;T[\w:.-]+;.* [\d,]+$", re.M)


def _austin_frame(text: str) -> str | None:
    # Austin 3: "file:function:line"; the file may itself contain ':' so split from the right.
    parts = text.rsplit(":", 2)
    if len(parts) != 3:
        return None
    file, func, line = parts
    if not line.isdigit():
        return None
    return make_frame(func, file, int(line))


def parse_austin(path: Path) -> Profile:
    """Austin 3 full-mode output into on-CPU and off-CPU stacks weighted in microseconds of wall time."""
    s = Profile(format="austin", weight_unit="us", seconds_per_unit=1e-6)
    threads: set[str] = set()
    try:
        fh = open(path, encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return s
    with fh:
        for line in fh:
            if not line.startswith("P"):
                continue
            head, _, metrics = line.rstrip("\n").rpartition(" ")
            fields = metrics.split(",")
            try:
                delta = int(fields[0])
                idle = len(fields) > 1 and fields[1] == "1"
            except ValueError:
                s.invalid += 1
                continue
            parts = head.split(";")
            if len(parts) < 2:
                s.invalid += 1
                continue
            threads.add(parts[0] + ";" + parts[1])
            s.samples += 1
            raw = parts[2:]
            if not raw:  # a thread with no Python frame (starting up or finishing)
                continue
            if any(f.startswith(":INVALID:") or f == "INVALID" for f in raw):
                s.invalid += 1
                continue
            frames = tuple(f for f in (_austin_frame(r) for r in raw) if f)
            if not frames:
                s.invalid += 1
                continue
            (s.off_cpu if idle else s.on_cpu)[frames] += delta
    s.threads = len(threads)
    return s


def sniff(head: str) -> bool:
    return head.startswith("# austin:") or bool(_SAMPLE.search(head))


def read(path: Path) -> Profile:
    s = parse_austin(Path(path))
    if not s.on_cpu and not s.off_cpu:
        raise PhasmError(f"{str(path)!r} holds no Austin sample with Python frames")
    full = any(ln.startswith("# mode: full") for ln in _header(path))
    notes = [f"{s.invalid} invalid sample(s) skipped"] if s.invalid else []
    s.off_cpu_known = full or bool(s.off_cpu)
    s.notes = notes
    return s


def _header(path: Path) -> list[str]:
    out = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if not line.startswith("#"):
                break
            out.append(line.strip())
    return out


__all__ = ["read", "sniff", "parse_austin"]
