"""Austin's output (``austin --full``: a wall-time delta and an idle flag per sample, so on-CPU and off-CPU come
from one run; plain mode: one metric per sample, all on-CPU). The Austin collector parses its output here too."""

from __future__ import annotations

import re
from pathlib import Path

from ...core.errors import PhasmError
from ...core.folded import make_frame
from .base import Profile, damaged
from .text import open_text_lines

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
    """Austin 3 full-mode output into on-CPU and off-CPU stacks weighted in microseconds of wall time (a file that
    does not exist: no sample)."""
    s = Profile(format="austin", weight_unit="us", seconds_per_unit=1e-6)
    threads: dict[str, int] = {}
    if not Path(path).exists():
        return s
    for line in open_text_lines(Path(path)):
        if not line.startswith("P"):
            continue
        sample = _sample(line.rstrip("\n"))
        s.samples += 1
        if sample is None:
            s.invalid += 1
            continue
        thread, frames, delta, idle = sample
        threads[thread] = threads.get(thread, 0) + delta
        if frames is None:
            s.invalid += 1
        elif frames:  # () : a thread with no Python frame (starting up or finishing)
            (s.off_cpu if idle else s.on_cpu)[frames] += delta
    s.threads = len(threads)
    s.sampled_seconds = max(threads.values(), default=0) * s.seconds_per_unit
    return s


def _sample(line: str) -> tuple[str, tuple[str, ...] | None, int, bool] | None:
    """``(thread, frames, microseconds, idle)`` of one sample line; frames None: unreadable frames; None: not a
    sample (no thread, no metric, a negative one)."""
    head, _, metrics = line.rpartition(" ")
    fields = metrics.split(",")
    try:
        delta = int(fields[0])
    except ValueError:
        return None
    parts = head.split(";")
    if len(parts) < 2 or delta < 0:
        return None
    raw = parts[2:]
    if any(f.startswith(":INVALID:") or f == "INVALID" for f in raw):
        return parts[0] + ";" + parts[1], None, delta, False
    frames = tuple(f for f in (_austin_frame(r) for r in raw) if f)
    return parts[0] + ";" + parts[1], (frames if frames or not raw else None), delta, len(fields) > 1 and fields[1] == "1"


def sniff(head: str) -> bool:
    return head.startswith("# austin:") or bool(_SAMPLE.search(head))


def read(path: Path, force: bool = False) -> Profile:
    s = parse_austin(Path(path))
    if not s.on_cpu and not s.off_cpu:
        raise PhasmError(f"{str(path)!r} holds no Austin sample with Python frames")
    notes = []
    if _cut_short(Path(path)):
        notes.append(damaged(path, "it was cut short (its last line has no end)", force))
    if s.invalid > s.samples - s.invalid:
        notes.append(damaged(path, f"most of its samples cannot be read ({s.invalid} of {s.samples})", force))
    elif s.invalid:
        notes.append(f"{s.invalid} invalid sample(s) skipped")
    full = any(ln.startswith("# mode: full") for ln in _header(path))
    s.off_cpu_known = full or bool(s.off_cpu)
    s.notes = notes
    return s


def _cut_short(path: Path) -> bool:
    """Austin ends every line; a last line without an end was being written when the file was cut."""
    with open(path, "rb") as fh:
        fh.seek(0, 2)
        if fh.tell() == 0:
            return False
        fh.seek(-1, 2)
        return fh.read(1) not in (b"\n", b"\x00")


def _header(path: Path) -> list[str]:
    out = []
    for line in open_text_lines(Path(path)):
        if not line.startswith("#"):
            break
        out.append(line.strip())
    return out


__all__ = ["read", "sniff", "parse_austin"]
