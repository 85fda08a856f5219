"""Stage 3a: from the call tree to the functions worth considering (see :mod:`.filters`)."""

from __future__ import annotations

import difflib
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

import pandas as pd

from ..calltree.tree import CallTree
from ..core.errors import PhasmError
from ..core.folded import split_frame
from . import filters
from .filters import make_is_user_code


@dataclass(frozen=True)
class SelectOptions:
    event_loop: str | None = None
    min_fraction: float = 0.02
    tower_threshold: float = 0.95
    waiting_threshold: float = 0.5
    user_roots: tuple[str, ...] = ()
    attribute_libraries: bool = True


@dataclass
class Selection:
    """The outcome of the filters: the tree they were applied to, and the function table with ``excluded``."""

    tree: CallTree
    table: pd.DataFrame
    total_seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def candidates(self) -> pd.DataFrame:
        return self.table[self.table["excluded"] == ""]


def select(tree: CallTree, options: SelectOptions = SelectOptions(),
           is_user: Callable[[str | None], bool] | None = None) -> Selection:
    """Run the filter pipeline. ``total_seconds`` (the denominator of every share) is the whole run's time."""
    total = tree.total_seconds
    is_user = is_user or make_is_user_code(options.user_roots)
    notes: list[str] = []
    on, off = tree.on_cpu, tree.off_cpu
    if options.event_loop:
        on = filters.restrict_to_event_loop(on, options.event_loop)
        off = filters.restrict_to_event_loop(off, options.event_loop)
        if not on and not off:
            notes.append(f"no sample is under the event-loop frame {options.event_loop!r}: check the name")
    on, off = filters.fold_comprehensions(on), filters.fold_comprehensions(off)
    if options.attribute_libraries:
        on = filters.attribute_library_leaves(on, is_user)
        off = filters.attribute_library_leaves(off, is_user)
    work = CallTree(on, off, tree.seconds_per_unit)
    df = work.functions.copy()
    df["excluded"] = ""
    if options.event_loop:
        df = filters.drop_event_loop_and_callers(df, work.on_cpu + work.off_cpu, options.event_loop)
    df = filters.drop_runtime_frames(df)
    df = filters.drop_library_functions(df, is_user)
    df = filters.drop_tiny(df, total, options.min_fraction)
    df = filters.drop_tower_bases(df, work.callees, options.tower_threshold)
    df = filters.flag_waiting(df, options.waiting_threshold)
    # a surrogate takes away computing time, so candidates are ordered by their on-CPU time
    df = df.sort_values(["on_incl", "incl"], ascending=False, kind="stable")
    return Selection(work, df, total, notes)


def check_event_loop(stacks: list[Counter], symbol: str | None, where: str) -> None:
    """Refuse an ``--event-loop`` that names no frame of the profile, with the closest names it has (or, when
    none is close, its heaviest functions)."""
    if not symbol:
        return
    weight: Counter = Counter()
    for c in stacks:
        for frames, w in c.items():
            for f in set(frames):
                weight[f] += w
    if any(filters.frame_matches(f, symbol) for f in weight):
        return
    by_name: Counter = Counter()
    for f, w in weight.items():
        by_name[split_frame(f)[0]] += w
    close = difflib.get_close_matches(symbol, list(by_name), n=5, cutoff=0.6)
    if close:
        raise PhasmError(f"--event-loop {symbol!r} names no frame of {where}; the closest names in it: "
                         f"{', '.join(close)}")
    heavy = [n for n, _ in by_name.most_common(5)]
    raise PhasmError(f"--event-loop {symbol!r} names no frame of {where} (nothing close); its heaviest frames: "
                     f"{', '.join(heavy) or 'none'}")


__all__ = ["SelectOptions", "Selection", "select", "check_event_loop", "filters", "make_is_user_code"]
