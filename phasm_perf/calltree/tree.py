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

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from typing import Iterable

import pandas as pd

from .folded import Stack, split_frame

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
    def _function_data(self) -> tuple[pd.DataFrame, dict[str, dict[str, float]]]:
        keys: dict[str, str] = {}
        lines: dict[str, int] = {}
        acc: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])  # on_incl off_incl on_excl off_excl
        callees: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for col, stacks in ((0, self.on_cpu), (1, self.off_cpu)):
            for frames, w in stacks.items():
                ks = []
                for f in frames:
                    k = keys.get(f)
                    if k is None:
                        k = keys[f] = function_key(f)
                        _, _, ln = split_frame(f)
                        if ln is not None and (k not in lines or ln < lines[k]):
                            lines[k] = ln
                    ks.append(k)
                innermost = {k: i for i, k in enumerate(ks)}
                n = len(ks)
                for k, i in innermost.items():
                    acc[k][col] += w
                    if i + 1 < n:
                        callees[k][ks[i + 1]] += w * self.seconds_per_unit
                acc[ks[-1]][col + 2] += w
        spu = self.seconds_per_unit
        rows = []
        for k, (on_i, off_i, on_e, off_e) in acc.items():
            name, file, _ = split_frame(k)
            rows.append((k, name, file, lines.get(k), on_i * spu, off_i * spu, (on_i + off_i) * spu,
                         on_e * spu, off_e * spu, (on_e + off_e) * spu))
        df = pd.DataFrame.from_records(rows, columns=FUNCTION_COLUMNS)
        df["line"] = df["line"].astype("Int64")
        df = df.sort_values("incl", ascending=False, kind="stable").set_index("function", drop=False)
        df.index.name = None
        return df, {k: dict(v) for k, v in callees.items()}

    @property
    def functions(self) -> pd.DataFrame:
        """One row per function: inclusive/exclusive on-CPU and off-CPU seconds, file and first line seen."""
        return self._function_data[0]

    @property
    def callees(self) -> dict[str, dict[str, float]]:
        """``callees[f][g]``: seconds under ``f`` spent in its direct callee ``g`` (innermost ``f`` on the stack)."""
        return self._function_data[1]

    # -- per node -----------------------------------------------------------------------------------------
    @cached_property
    def nodes(self) -> pd.DataFrame:
        """One row per call path. ``node`` 0 is the synthetic root (``all``)."""
        index: dict[tuple[int, str], int] = {}
        parent = [-1]
        frame_of = ["all"]
        depth = [0]
        on_i = [0.0]
        off_i = [0.0]
        on_e = [0.0]
        off_e = [0.0]
        for col, stacks in ((0, self.on_cpu), (1, self.off_cpu)):
            incl = on_i if col == 0 else off_i
            excl = on_e if col == 0 else off_e
            for frames, w in stacks.items():
                node = 0
                incl[0] += w
                for d, f in enumerate(frames, 1):
                    nxt = index.get((node, f))
                    if nxt is None:
                        nxt = index[(node, f)] = len(parent)
                        parent.append(node)
                        frame_of.append(f)
                        depth.append(d)
                        for arr in (on_i, off_i, on_e, off_e):
                            arr.append(0.0)
                    node = nxt
                    incl[node] += w
                excl[node] += w
        spu = self.seconds_per_unit
        split = [split_frame(f) for f in frame_of]
        df = pd.DataFrame({
            "node": range(len(parent)),
            "parent": parent,
            "depth": depth,
            "frame": frame_of,
            "function": [function_key(f) if i else "all" for i, f in enumerate(frame_of)],
            "name": [s[0] for s in split],
            "file": [s[1] for s in split],
            "line": pd.array([s[2] for s in split], dtype="Int64"),
        })
        for name, arr in (("on_incl", on_i), ("off_incl", off_i), ("on_excl", on_e), ("off_excl", off_e)):
            df[name] = pd.Series(arr, dtype="float64") * spu
        df["incl"] = df["on_incl"] + df["off_incl"]
        df["excl"] = df["on_excl"] + df["off_excl"]
        return df[NODE_COLUMNS]


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
