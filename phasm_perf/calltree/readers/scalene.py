"""Scalene 2.x JSON (``scalene run -o profile.json prog.py``): line-level CPU time split into Python, native and
system time, and memory.

Scalene records lines, not stacks. Each line with CPU time becomes a stack ``function (file:line);[python]``,
``[native]`` or ``[system]`` whose weight is that share of the run in seconds: the function merges its lines in the
call tree, the last frame keeps Scalene's split visible in a flame graph. :func:`scalene_lines` gives the full
per-line table (CPU split, peak and allocated memory) as a DataFrame.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections import Counter
from pathlib import Path

import pandas as pd

from ...core.errors import PhasmError
from ...core.folded import make_frame
from .base import Profile, damaged
from .text import read_text

SPLIT = (("n_cpu_percent_python", "[python]"), ("n_cpu_percent_c", "[native]"), ("n_sys_percent", "[system]"))


def sniff(head: str) -> bool:
    h = head.lstrip()
    return h.startswith("{") and any(k in h for k in ('"elapsed_time_sec"', '"max_footprint_mb"', '"alloc_samples"',
                                                       '"combined_stacks"'))


def _load(path: Path) -> dict:
    try:
        doc = json.loads(read_text(Path(path)))
    except ValueError as exc:
        raise PhasmError(f"{str(path)!r} is not valid JSON ({exc}); expected a Scalene profile") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("files"), dict) or "elapsed_time_sec" not in doc:
        raise PhasmError(f"{str(path)!r} is not a Scalene 2.x JSON profile (no 'files' and 'elapsed_time_sec')")
    return doc


def _function_of(functions: list[dict]):
    starts = sorted((int(f.get("lineno", 0)), str(f.get("line", "?")).strip()) for f in functions)
    keys = [s for s, _ in starts]

    def name(lineno: int, start: int | None) -> str:
        if start:
            for s, n in starts:
                if s == start:
                    return n
        i = bisect_right(keys, lineno) - 1
        return starts[i][1] if i >= 0 and start else "<module>"
    return name


def scalene_lines(path: str | Path) -> pd.DataFrame:
    """One row per profiled line: file, line, function, CPU seconds (python, native, system), memory (MB)."""
    doc = _load(Path(path))
    elapsed = float(doc.get("elapsed_time_sec") or 0.0)
    rows = []
    for file, data in doc["files"].items():
        fname = _function_of(data.get("functions", []))
        for ln in data.get("lines", []):
            lineno = int(ln.get("lineno", 0))
            rows.append({
                "file": file, "line": lineno, "function": fname(lineno, ln.get("start_function_line") or None),
                "python_seconds": elapsed * float(ln.get("n_cpu_percent_python", 0.0)) / 100,
                "native_seconds": elapsed * float(ln.get("n_cpu_percent_c", 0.0)) / 100,
                "system_seconds": elapsed * float(ln.get("n_sys_percent", 0.0)) / 100,
                "peak_mb": float(ln.get("n_peak_mb", 0.0)), "malloc_mb": float(ln.get("n_malloc_mb", 0.0)),
                "python_memory_fraction": float(ln.get("n_python_fraction", 0.0)),
                "source": str(ln.get("line", "")).rstrip("\n"),
            })
    return pd.DataFrame(rows)


def _line_stacks(file: str, fname, ln: dict, elapsed: float) -> list[tuple[tuple[str, str], float]]:
    """One profiled line's CPU seconds, split (ValueError, TypeError, AttributeError: not a Scalene line)."""
    lineno = int(ln.get("lineno", 0))
    start = ln.get("start_function_line") or None
    frame = make_frame(fname(lineno, int(start) if start is not None else None), file, lineno)
    out = []
    for key, leaf in SPLIT:
        pct = float(ln.get(key, 0.0) or 0.0)
        if not 0 <= pct <= 100:
            raise ValueError(f"{key} {pct} is not a percentage")
        if pct > 0:
            out.append(((frame, leaf), elapsed * pct / 100))
    return out


def read(path: Path, force: bool = False) -> Profile:
    doc = _load(path)
    try:
        elapsed = float(doc.get("elapsed_time_sec") or 0.0)
        if not 0 <= elapsed < float("inf"):
            raise ValueError(f"elapsed_time_sec {elapsed}")
    except (TypeError, ValueError) as exc:
        raise PhasmError(f"{str(path)!r}: malformed Scalene profile ({exc})") from None
    stacks: Counter = Counter()
    bad: list[str] = []
    for file, data in doc["files"].items():
        try:
            fname = _function_of(data.get("functions", []))
            lines = data.get("lines", [])
            iter(lines)
        except (AttributeError, TypeError, ValueError, OverflowError) as exc:
            bad.append(f"file {file[:40]!r}: {type(exc).__name__}: {str(exc)[:60]}")
            continue
        for ln in lines:
            try:
                for stack, seconds in _line_stacks(str(file), fname, ln, elapsed):
                    stacks[stack] += seconds
            except (AttributeError, TypeError, ValueError, OverflowError) as exc:
                bad.append(f"{file[:40]!r}: {type(exc).__name__}: {str(exc)[:60]}")
    notes = [damaged(path, f"{len(bad)} of its entries cannot be read (first: {bad[0]})", force)] if bad else []
    if not stacks:
        raise PhasmError(f"{str(path)!r}: Scalene recorded no CPU time (the program ran too briefly?)")
    notes.append(f"Scalene: line-level CPU time split into [python], [native] and [system]; peak memory "
                 f"{_number(doc.get('max_footprint_mb')):.1f} MB (see scalene_lines() for memory per line)")
    return Profile(stacks, format="scalene", weight_unit="seconds", seconds_per_unit=1.0, notes=notes)


def _number(value) -> float:
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return float("nan")


__all__ = ["read", "sniff", "scalene_lines"]
