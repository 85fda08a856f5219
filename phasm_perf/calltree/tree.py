"""The call-tree model: on-CPU and off-CPU stacks into pandas tables.

Two views, both in seconds:

- :attr:`CallTree.nodes`: one row per call path (a node of the tree), with its parent, inclusive and
  exclusive on-CPU and off-CPU time, function, file and line.
- :attr:`CallTree.functions`: one row per function, merged across all its call sites. Inclusive time counts
  each sample once per function even when the function is on the stack several times (recursion is not
  double counted); exclusive time is the time with the function as the leaf.

:attr:`CallTree.callees` holds, for each function, the time spent in each function it calls directly (used by
the tower filter).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from typing import Iterable, Iterator, Mapping

import numpy as np
import pandas as pd

from .encoded import FunctionSums, StackTable, build_trie, function_sums

from ..core.folded import Stack, split_frame

FUNCTION_COLUMNS = [
    "function", "name", "file", "line",
    "on_incl", "off_incl", "incl", "on_excl", "off_excl", "excl",
]
NODE_COLUMNS = [
    "node", "parent", "depth", "frame", "function", "name", "file", "line",
    "on_incl", "off_incl", "incl", "on_excl", "off_excl", "excl",
]


def function_key(frame: str) -> str:
    """A function's identity across call sites: the frame without its line (``name (file)`` or ``name``)."""
    name, file, _ = split_frame(frame)
    return f"{name} ({file})" if file else name


@dataclass
class CallTree:
    """On-CPU and off-CPU stacks of one run (weights in seconds already, or scaled by ``seconds_per_unit``)."""

    on_cpu: Counter
    off_cpu: Counter = field(default_factory=Counter)
    seconds_per_unit: float = 1.0

    # -- totals -------------------------------------------------------------------------------------------
    @cached_property
    def on_seconds(self) -> float:
        return sum(self.on_cpu.values()) * self.seconds_per_unit

    @cached_property
    def off_seconds(self) -> float:
        return sum(self.off_cpu.values()) * self.seconds_per_unit

    @property
    def total_seconds(self) -> float:
        return self.on_seconds + self.off_seconds

    # -- per function -------------------------------------------------------------------------------------
    @cached_property
    def table(self) -> StackTable:
        """The on-CPU (column 0) and off-CPU (column 1) stacks as numpy arrays (see :mod:`.encoded`)."""
        return StackTable.from_counters([self.on_cpu, self.off_cpu])

    @cached_property
    def _function_data(self) -> tuple[pd.DataFrame, FunctionSums, np.ndarray]:
        table = self.table
        keys: dict[str, int] = {}
        lines: dict[int, int] = {}
        frame_fn = np.zeros(max(1, len(table.frames)), dtype=np.int64)
        for i, f in enumerate(table.frames):
            name, file, ln = split_frame(f)
            k = f"{name} ({file})" if file else name
            fid = keys.setdefault(k, len(keys))
            frame_fn[i] = fid
            if ln is not None and (fid not in lines or ln < lines[fid]):
                lines[fid] = ln
        names = list(keys)
        sums = function_sums(table, frame_fn, names)
        spu = self.seconds_per_unit
        split = [split_frame(k) for k in names]
        df = pd.DataFrame({
            "function": names,
            "name": [s[0] for s in split],
            "file": [s[1] for s in split],
            "line": pd.array([lines.get(i) for i in range(len(names))], dtype="Int64"),
            "on_incl": sums.incl[:, 0] * spu,
            "off_incl": sums.incl[:, 1] * spu,
            "incl": sums.incl.sum(axis=1) * spu,
            "on_excl": sums.excl[:, 0] * spu,
            "off_excl": sums.excl[:, 1] * spu,
            "excl": sums.excl.sum(axis=1) * spu,
        }, columns=FUNCTION_COLUMNS)
        df = df.sort_values("incl", ascending=False, kind="stable").set_index("function", drop=False)
        df.index.name = None
        return df, sums, frame_fn

    @property
    def functions(self) -> pd.DataFrame:
        """One row per function: inclusive/exclusive on-CPU and off-CPU seconds, file and first line seen."""
        return self._function_data[0]

    def outermost_callers(self, key: str) -> tuple[bool, dict[str, float]]:
        """Whether ``key`` is ever on a stack twice (recursion), and the functions just above its outermost
        occurrence, with the seconds under them (``""``: it is the root). Its entries from outside, not its
        recursive calls, are the calls of those callers."""
        sums = self._function_data[1]
        try:
            fid = sums.names.index(key)
        except ValueError:
            return False, {}
        table = self.table
        fn = self._function_data[2][table.flat]
        pos = np.flatnonzero(fn == fid)
        if not len(pos):
            return False, {}
        rows = np.searchsorted(table.offsets, pos, side="right") - 1
        first_rows, first = np.unique(rows, return_index=True)
        recursive = len(first_rows) < len(rows)
        at = pos[first]
        weight = table.weights[first_rows].sum(axis=1) * self.seconds_per_unit
        callers: dict[str, float] = {}
        for p, r, w in zip(at.tolist(), first_rows.tolist(), weight.tolist()):
            name = sums.names[int(fn[p - 1])] if p > table.offsets[r] else ""
            callers[name] = callers.get(name, 0.0) + w
        return recursive, callers

    @cached_property
    def callees(self) -> Mapping[str, dict[str, float]]:
        """``callees[f][g]``: seconds under ``f`` spent in its direct callee ``g`` (innermost ``f`` on the stack).

        A read-only mapping that builds each caller's dict when asked (millions of pairs stay in numpy)."""
        return Callees(self._function_data[1], self.seconds_per_unit)

    # -- per node -----------------------------------------------------------------------------------------
    @cached_property
    def nodes(self) -> pd.DataFrame:
        """One row per call path. ``node`` 0 is the synthetic root (``all``); a parent comes before its children."""
        table = self.table
        trie = build_trie(table)
        frame_of = ["all"] + [table.frames[i] for i in trie.frame[1:].tolist()]
        split = [split_frame(f) for f in table.frames]
        fkeys = [function_key(f) for f in table.frames]
        fr = trie.frame[1:].tolist()
        spu = self.seconds_per_unit
        df = pd.DataFrame({
            "node": np.arange(len(trie)),
            "parent": trie.parent,
            "depth": trie.depth.astype(np.int64),
            "frame": frame_of,
            "function": ["all"] + [fkeys[i] for i in fr],
            "name": ["all"] + [split[i][0] for i in fr],
            "file": [None] + [split[i][1] for i in fr],
            "line": pd.array([None] + [split[i][2] for i in fr], dtype="Int64"),
            "on_incl": trie.incl[:, 0] * spu,
            "off_incl": trie.incl[:, 1] * spu,
            "on_excl": trie.excl[:, 0] * spu,
            "off_excl": trie.excl[:, 1] * spu,
        })
        df["incl"] = df["on_incl"] + df["off_incl"]
        df["excl"] = df["on_excl"] + df["off_excl"]
        return df[NODE_COLUMNS]


class Callees(Mapping):
    """``callees[f]`` -> ``{g: seconds}``, from :class:`FunctionSums` (pairs sorted by caller)."""

    def __init__(self, sums: FunctionSums, seconds_per_unit: float) -> None:
        self._names = sums.names
        self._ids = {n: i for i, n in enumerate(sums.names)}
        self._caller = sums.callee_pairs[:, 0]
        self._callee = sums.callee_pairs[:, 1]
        self._weight = sums.callee_weight * seconds_per_unit
        c = self._caller  # sorted by caller
        self._callers = c[np.r_[True, c[1:] != c[:-1]]].tolist() if len(c) else []
        self._cache: dict[str, dict[str, float]] = {}

    def __getitem__(self, name: str) -> dict[str, float]:
        got = self._cache.get(name)
        if got is not None:
            return got
        i = self._ids.get(name)
        if i is None:
            raise KeyError(name)
        lo, hi = np.searchsorted(self._caller, [i, i + 1])
        if lo == hi:
            raise KeyError(name)
        names = self._names
        got = {names[c]: w for c, w in zip(self._callee[lo:hi].tolist(), self._weight[lo:hi].tolist())}
        self._cache[name] = got
        return got

    def __iter__(self) -> Iterator[str]:
        return (self._names[i] for i in self._callers)

    def largest_others(self) -> dict[str, float]:
        """Per caller, the seconds of its largest callee other than itself (callers of only themselves left out):
        what the tower filter asks of every function, without a dict per caller."""
        other = self._caller != self._callee
        caller, weight = self._caller[other], self._weight[other]
        if not len(caller):
            return {}
        start = np.flatnonzero(np.r_[True, caller[1:] != caller[:-1]])
        top = np.maximum.reduceat(weight, start)
        names = self._names
        return {names[c]: w for c, w in zip(caller[start].tolist(), top.tolist())}

    def __len__(self) -> int:
        return len(self._callers)


def map_stacks(stacks: Counter, fn) -> Counter:
    """Apply ``fn(frames) -> frames | None`` to every stack; ``None`` or ``()`` drops the stack. Pure."""
    out: Counter = Counter()
    for frames, w in stacks.items():
        new = fn(frames)
        if new:
            out[tuple(new)] += w
    return out


def merge(counters: Iterable[Counter]) -> Counter:
    total: Counter = Counter()
    for c in counters:
        total.update(c)
    return total


__all__ = ["CallTree", "Stack", "function_key", "map_stacks", "merge"]
