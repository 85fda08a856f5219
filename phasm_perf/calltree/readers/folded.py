"""Folded stacks (Brendan Gregg's format, and py-spy's ``--format raw``, which is the same with ``name (file:line)``
frames): integer or decimal counts, LF or CRLF, UTF-8 or UTF-16 with a BOM. Invalid lines are skipped and reported
with their line numbers; a file with no valid stack is an error."""

from __future__ import annotations

import re
from pathlib import Path

from ...core.folded import parse_folded_lines
from .base import Profile, damaged, invalid_note
from .text import open_text_lines

_LINE = re.compile(r"^[^\s#/][^\n]* \d+(\.\d*)?([eE][-+]?\d+)?\s*$", re.M)
_PYSPY_FRAME = re.compile(r"\([^();]+:\d+\)(;| \d)")


def sniff(head: str) -> bool:
    lines = [ln for ln in head.splitlines()[:50] if ln.strip() and not ln.startswith(("#", "//"))]
    return bool(lines) and sum(bool(_LINE.match(ln)) for ln in lines) >= max(1, len(lines) // 2)


def is_pyspy(head: str) -> bool:
    return bool(_PYSPY_FRAME.search(head))


def read(path: Path, fmt: str = "folded", force: bool = False) -> Profile:
    parsed = parse_folded_lines(open_text_lines(path))
    damage = parsed.damage()
    notes = [damaged(path, damage, force, readable=bool(parsed.stacks) and parsed.total > 0)] if damage else []
    notes += invalid_note(parsed.invalid)
    if parsed.decimal:
        notes.append("decimal weights were read as given (flame graph outputs round them to integers)")
    return Profile(parsed.stacks, format=fmt, notes=notes)


__all__ = ["read", "sniff", "is_pyspy"]
