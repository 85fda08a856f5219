"""What every flame-graph writer draws: the call-path tree of one profile (on-CPU and off-CPU weights) or of two
(a differential view), with the paths narrower than a threshold merged, and the ranked candidates to highlight.

A frame is a function by default (``name (file)``: the lines of one function are one box, as its callers see it);
``lines=True`` keeps a frame per source line (``name (file:line)``), as the samplers record them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from ...calltree.encoded import StackTable, Trie, build_trie
from ...calltree.tree import CallTree, function_key
from ...core.bundle import Bundle

from ..formats import DEFAULT_MIN_WIDTH


@dataclass
class Highlight:
    rank: int
    function: str
    share: float
    amdahl_limit: float
    kind: str
    on_cpu_fraction: float


@dataclass
class FlameData:
    """Node 0 is the root; ``children[i]`` are sorted by name. Columns of ``incl``: on-CPU and off-CPU, or, in a
    differential view, SOURCE and OTHER scaled to SOURCE's total (``diff_scale``)."""

    title: str
    frames: list[str]
    trie: Trie
    children: list[list[int]]
    unit: str
    seconds_per_unit: float
    diff: bool = False
    diff_scale: float = 1.0
    labels: tuple[str, str] = ("on-CPU", "off-CPU")
    off_cpu_known: bool = True
    min_width: float = DEFAULT_MIN_WIDTH
    highlights: dict[str, Highlight] = field(default_factory=dict)   # function key -> candidate
    ranked: bool = True                                              # False: candidates were not looked for
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> np.ndarray:
        return self.trie.incl[0]

    def name(self, node: int) -> str:
        f = int(self.trie.frame[node])
        if node == 0:
            return "all"
        if f < 0:
            return f"[{int(self.trie.merged[node])} narrow call paths merged]"
        return self.frames[f]

    def order(self) -> list[int]:
        """Nodes depth-first, children by name: the order flame graphs lay frames out."""
        out, todo = [], [0]
        while todo:
            n = todo.pop()
            out.append(n)
            todo.extend(reversed(self.children[n]))
        return out


def _children(trie: Trie, frames: list[str]) -> list[list[int]]:
    kids: list[list[int]] = [[] for _ in range(len(trie))]
    for node, parent in enumerate(trie.parent.tolist()):
        if parent >= 0:
            kids[parent].append(node)
    fr = trie.frame.tolist()
    for k in kids:
        if len(k) > 1:
            k.sort(key=lambda n: (fr[n] < 0, frames[fr[n]] if fr[n] >= 0 else ""))
    return kids


def by_function(table: StackTable) -> StackTable:
    """The same stacks with every frame replaced by its function (``name (file:12)`` -> ``name (file)``): a
    renumbering of the frame ids, the stacks themselves untouched (numpy, no Python loop over stacks)."""
    keys = [function_key(f) for f in table.frames]
    ids: dict[str, int] = {}
    remap = np.fromiter((ids.setdefault(k, len(ids)) for k in keys), dtype=np.int32, count=len(keys))
    if len(ids) == len(keys):
        return StackTable(keys, table.flat, table.offsets, table.weights)
    return StackTable(list(ids), remap[table.flat] if len(table.flat) else table.flat, table.offsets, table.weights)


def function_stacks(stacks: Counter) -> Counter:
    """:func:`by_function` for a Counter of stacks (the folded and speedscope writers)."""
    cache: dict[str, str] = {}
    out: Counter = Counter()
    for frames, w in stacks.items():
        key = tuple(cache.get(f) or cache.setdefault(f, function_key(f)) for f in frames)
        out[key] += w
    return out


def flame_data(bundle: Bundle, other: Bundle | None = None, min_width: float = DEFAULT_MIN_WIDTH,
               highlights: dict[str, Highlight] | None = None, title: str | None = None,
               tree: CallTree | None = None, ranked: bool = True, lines: bool = False) -> FlameData:
    """The tree to draw (``tree``: the bundle's call tree if already built, whose tables are reused). With ``other``, a differential view: SOURCE's on+off stacks against OTHER's, OTHER scaled
    to SOURCE's total (so a function that takes the same share in both has the same width and no colour)."""
    notes: list[str] = []
    if other is None:
        counters = [bundle.on_cpu, bundle.off_cpu]
        labels = ("on-CPU", "off-CPU")
        scale = 1.0
    else:
        a: Counter = bundle.on_cpu + bundle.off_cpu
        b: Counter = other.on_cpu + other.off_cpu
        ta, tb = sum(a.values()), sum(b.values())
        scale = ta / tb if tb else 1.0
        b = Counter({k: v * scale for k, v in b.items()})
        counters = [a, b]
        labels = (str(bundle.path.name), str(other.path.name))
        notes.append(f"differential view: {labels[1]} scaled by {scale:.4g} to the same total as {labels[0]}; "
                     "red: more in " + labels[0] + ", blue: less")
    same = tree is not None and other is None and tree.on_cpu is bundle.on_cpu and tree.off_cpu is bundle.off_cpu
    table = tree.table if same else StackTable.from_counters(counters)
    if not lines:
        table = by_function(table)
    total = float(table.weights.sum())
    trie = build_trie(table, min_weight=min_width * total if min_width > 0 else 0.0)
    if trie.merged_paths:
        notes.append(f"{trie.merged_paths:,} call paths narrower than {100 * min_width:g}% of the total were merged "
                     f"into {int((trie.frame[1:] < 0).sum()):,} '[... merged]' frames")
    hl = highlights or {}
    return FlameData(title or str(bundle.path), table.frames, trie, _children(trie, table.frames),
                     bundle.meta.weight_unit, bundle.meta.seconds_per_unit, diff=other is not None, diff_scale=scale,
                     labels=labels, off_cpu_known=bundle.meta.collector.off_cpu or bool(bundle.off_cpu),
                     min_width=min_width, highlights=hl, ranked=ranked, notes=notes)


def highlights_of(bundle: Bundle, options=None, tree: CallTree | None = None) -> dict[str, Highlight]:
    """The ranked candidates (``options``: a :class:`~phasm_perf.report.RankOptions`, ``rank``'s defaults if None),
    by function key."""
    from .. import RankOptions, build_report

    report = build_report(bundle, options or RankOptions(), tree=tree)
    return {c.key: Highlight(c.rank, c.function, c.share, c.amdahl_limit, c.kind, c.on_cpu_fraction)
            for c in report.candidates}


__all__ = ["FlameData", "Highlight", "flame_data", "highlights_of", "DEFAULT_MIN_WIDTH"]
