"""Brendan Gregg's folded stacks: ``root;caller;leaf COUNT`` per line, root first, ``;`` with no space.

Stacks are held as a :class:`collections.Counter` mapping a tuple of frame strings (root first) to a weight.
A frame string is ``name`` or ``name (file:line)``, the form py-spy writes; :func:`split_frame` takes it apart.
"""

from __future__ import annotations

import codecs
import io
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Iterator

from .errors import PhasmError, input_error

Stack = tuple[str, ...]

_FRAME_RE = re.compile(r"^(?P<name>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


@lru_cache(maxsize=1 << 16)
def split_frame(frame: str) -> tuple[str, str | None, int | None]:
    """``'step (sim.py:12)'`` -> ``('step', 'sim.py', 12)``; ``'memcpy'`` -> ``('memcpy', None, None)``."""
    m = _FRAME_RE.match(frame)
    if not m or not m.group("file"):
        return frame, None, None
    line = m.group("line")
    return m.group("name"), m.group("file"), int(line) if line else None


def make_frame(name: str, file: str | None = None, line: int | None = None) -> str:
    """The inverse of :func:`split_frame`. ``;`` and newlines in names would break the format: they are replaced."""
    name = name.replace(";", ":").replace("\n", " ").replace("\r", " ")
    if not file:
        return name
    file = file.replace(";", ":").replace("\n", " ")
    return f"{name} ({file}:{line})" if line is not None else f"{name} ({file})"


#: a weight above this is not a count (it would overflow the float64 sums of the call tree)
MAX_WEIGHT = float(2 ** 62)


@dataclass
class FoldedParse:
    stacks: Counter = field(default_factory=Counter)
    invalid: list[tuple[int, str]] = field(default_factory=list)  # (line number, text)
    decimal: bool = False
    #: the last line had no end of line and was not a stack: the file was cut short while being written
    truncated: bool = False
    lines: int = 0  # stack lines (valid and invalid; blank and comment lines aside)

    @property
    def total(self) -> float:
        return float(sum(self.stacks.values()))

    def damage(self) -> str | None:
        """What is wrong with the file as a whole (None: nothing): cut short, not folded stacks, or all zero."""
        if self.truncated:
            n, text = self.invalid[-1]
            return f"it was cut short (its last line, {n}, ends without a count: {text[:60]!r})"
        if not self.stacks:
            return "it holds no folded stack" + (f" (line {self.invalid[0][0]}: {self.invalid[0][1][:60]!r}); "
                                                 "expected lines like 'main;solve;step 42'" if self.invalid else "")
        if len(self.invalid) > len(self.stacks):
            return (f"most of its lines are not folded stacks ({len(self.invalid)} of {self.lines}, from line "
                    f"{self.invalid[0][0]}: {self.invalid[0][1][:40]!r})")
        if self.total <= 0:
            return f"every count in it is zero ({len(self.stacks)} stacks): there is no time to rank"
        return None


def _decode(data: bytes) -> str:
    for bom, enc in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return data.decode(enc, errors="replace")
    return data.decode("utf-8", errors="replace")


def parse_folded_lines(lines: Iterable[str]) -> FoldedParse:
    """Parse folded lines; bad lines are collected with their 1-based numbers, not fatal."""
    out = FoldedParse()
    stacks = out.stacks
    seen: dict[str, str] = {}
    same = seen.setdefault  # one string object per distinct frame: millions of stacks share a few thousand names
    get = stacks.get
    lineno, raw = 0, ""
    for lineno, raw in enumerate(lines, 1):
        line = raw.rstrip("\r\n")
        if not line or line[0] == "#" or line.isspace():
            continue
        out.lines += 1
        stack, sep, count = line.rpartition(" ")
        if not sep or not stack:
            out.invalid.append((lineno, line[:200]))
            continue
        try:
            weight: float = int(count)
        except ValueError:
            try:
                weight = float(count)
                out.decimal = True
            except ValueError:
                out.invalid.append((lineno, line[:200]))
                continue
        if not 0 <= weight <= MAX_WEIGHT:  # negative, NaN, infinite, or too large to be a count
            out.invalid.append((lineno, line[:200]))
            continue
        parts = stack.split(";")
        if "" in parts:
            parts = [f for f in parts if f]
        frames = tuple(map(same, parts, parts))
        if not frames:
            out.invalid.append((lineno, line[:200]))
            continue
        stacks[frames] = get(frames, 0) + weight  # not +=: Counter.__missing__ is Python code, slow per new stack
    out.truncated = bool(out.invalid) and not raw.endswith("\n") and out.invalid[-1][0] == lineno
    return out


def read_folded(path: str | os.PathLike, missing_ok: bool = False) -> Counter:
    """Read a folded file (UTF-8 or UTF-16 with BOM, LF or CRLF) into a Counter of stacks (lines that are not
    stacks are skipped: :func:`parse_folded_file` says which)."""
    return parse_folded_file(path, missing_ok).stacks


def parse_folded_file(path: str | os.PathLike, missing_ok: bool = False) -> FoldedParse:
    """:func:`parse_folded_lines` of a file; a missing file is empty when ``missing_ok``; one-line errors."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        if missing_ok:
            return FoldedParse()
        raise PhasmError(f"{str(p)!r} not found") from None
    except OSError as exc:
        raise input_error(p, exc) from None
    return parse_folded_lines(io.StringIO(_decode(data)))


def iter_folded(stacks: Counter) -> Iterator[str]:
    for frames, weight in sorted(stacks.items()):
        if weight <= 0:
            continue
        w = int(round(weight)) if float(weight).is_integer() or isinstance(weight, int) else weight
        yield ";".join(frames) + f" {w}\n"


def write_folded(path: str | os.PathLike, stacks: Counter) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.writelines(iter_folded(stacks))
