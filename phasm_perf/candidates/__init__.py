"""Stage 3a: from the call tree to the functions worth considering (see :mod:`.filters`), inside the event loop
(named by the user, or found: :mod:`.loop`)."""

from __future__ import annotations

import difflib
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Mapping

import pandas as pd

from ..calltree.tree import CallTree
from ..core.errors import PhasmError
from ..core.folded import split_frame
from . import filters
from .filters import make_is_user_code
from .loop import LoopChoice, find_event_loop, whole_run_frames

#: ``--event-loop none``: no loop, every function of the run is ranked
NO_LOOP = "none"


@dataclass(frozen=True)
class SelectOptions:
    #: the loop's name (or function key); None: found automatically; ``"none"``: no loop
    event_loop: str | None = None
    #: how ``event_loop`` was chosen, for the report: given (the user's option) or bundle (what it was made with)
    loop_how: str = "given"
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
    loop: LoopChoice = LoopChoice(None, None, "none")

    @property
    def candidates(self) -> pd.DataFrame:
        return self.table[self.table["excluded"] == ""]


def select(tree: CallTree, options: SelectOptions = SelectOptions(),
           is_user: Callable[[str | None], bool] | None = None,
           calls: Mapping[str, int] | None = None) -> Selection:
    """Run the filter pipeline. ``total_seconds`` (the denominator of every share) is the whole run's time;
    ``calls`` (exact counts by function key) help find the event loop when none is named."""
    total = tree.total_seconds
    is_user = is_user or make_is_user_code(options.user_roots)
    notes: list[str] = []
    frames = tree.table.frames  # every distinct frame: the filters need not walk every stack to find them
    on, off = filters.fold_comprehensions(tree.on_cpu, frames), filters.fold_comprehensions(tree.off_cpu, frames)
    if options.attribute_libraries:
        on = filters.attribute_library_leaves(on, is_user, frames)
        off = filters.attribute_library_leaves(off, is_user, frames)
    # the stacks unchanged by the filters: the tree already built serves (its tables are not built twice)
    work = tree if (on is tree.on_cpu and off is tree.off_cpu) else CallTree(on, off, tree.seconds_per_unit)
    loop = _loop(work, options, is_user, calls)
    symbol = loop.key or loop.name
    if symbol:  # the tree of the time under the loop (without a loop, the one tree serves: no second copy)
        on = filters.restrict_to_event_loop(on, symbol)
        off = filters.restrict_to_event_loop(off, symbol)
        if not on and not off:
            notes.append(f"no sample is under the event-loop frame {symbol!r}: check the name")
        work = CallTree(on, off, tree.seconds_per_unit)
    if symbol and loop.how in ("given", "bundle") and total > 0:
        loop = LoopChoice(loop.key, loop.name, loop.how, work.total_seconds / total, None, loop.reason)
    df = work.functions.copy()
    df["excluded"] = ""
    if symbol:
        df = filters.drop_event_loop_and_callers(df, work.on_cpu + work.off_cpu, symbol)
    else:
        df = filters.drop_whole_run(df, whole_run_frames(work, calls))
    df = filters.drop_runtime_frames(df)
    df = filters.drop_library_functions(df, is_user)
    df = filters.drop_tiny(df, total, options.min_fraction)
    df = filters.drop_tower_bases(df, work.callees, options.tower_threshold)
    df = filters.flag_waiting(df, options.waiting_threshold)
    # a surrogate takes away computing time, so candidates are ordered by their on-CPU time
    df = df.sort_values(["on_incl", "incl"], ascending=False, kind="stable")
    return Selection(work, df, total, notes, loop)


def _loop(tree: CallTree, options: SelectOptions, is_user, calls) -> LoopChoice:
    given = options.event_loop
    if given and given.lower() == NO_LOOP:
        return LoopChoice(None, None, "none", reason="--event-loop none: every function is ranked")
    if given:
        return LoopChoice(None, given, options.loop_how)
    return find_event_loop(tree, is_user, calls)


_LOOP_HINT = " (leave --event-loop out to have the loop found, or --event-loop none for no loop)"


def check_event_loop(stacks: list[Counter], symbol: str | None, where: str) -> None:
    """Refuse an ``--event-loop`` that names no frame of the profile, with the closest names it has (or, when
    none is close, its heaviest functions). Not given (the loop is found) and ``none`` (no loop) need no frame."""
    if not symbol or symbol.lower() == NO_LOOP:
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
                         f"{', '.join(close)}{_LOOP_HINT}")
    heavy = [n for n, _ in by_name.most_common(5)]
    raise PhasmError(f"--event-loop {symbol!r} names no frame of {where} (nothing close); its heaviest frames: "
                     f"{', '.join(heavy) or 'none'}{_LOOP_HINT}")


__all__ = ["SelectOptions", "Selection", "select", "check_event_loop", "filters", "make_is_user_code", "LoopChoice",
           "find_event_loop", "NO_LOOP"]
