"""The event loop, found when the user does not name it (``--event-loop``).

The event loop is the frame that drives the work: called once or a few times, holding most of the run, and calling
its work many times per call of it. With nested drivers (``main -> run -> event -> step``) it is the innermost frame
that still holds most of the run and is itself called only a few times (``run``). Recursion is seen through: a
recursive driver's entries are the calls of the frames above its outermost occurrence, not its own recursive calls.

"Most of the run" is measured on-CPU when the profile has on-CPU time (a main thread waiting for its workers, or a
program waiting on its disk, does not hide the loop), else on all of its time. Call counts decide "a few" and
"many"; where there are none (a profile file, ``--no-counts``, a function the counting pass did not count) the
stacks alone decide: a frame holding most of the run whose own time is small and whose time is spread over its
callees (not one callee holding nearly all of it) drives them.

A program with no such frame has no loop: every function is ranked, and only frames that hold nearly all of the
outermost frame's time (the program itself: ``main``) are set aside.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import pandas as pd

from ..calltree.tree import CallTree
from .filters import is_runtime_frame

#: a loop holds at least this share of the run
HOLDS = 0.5
#: "called once or a few times"
FEW = 16
#: its work is called at least this many times per call of it
MANY = 4
#: without counts: its own time is at most this share of its time, and no callee holds more than TOWER of it
SELF_AT_MOST = 0.2
TOWER = 0.95
#: with no loop, a frame holding this share of the outermost frame's time (and called a few times, or not counted)
#: is the program. The outermost frame (a script's ``<module>``, a binary's ``_start``), not the run: the
#: interpreter's start-up and shutdown outside the script are no part of the program (5% of a 1.5 s run measured,
#: which left ``main`` at 94.96% of the run and ranked it first)
WHOLE_RUN = 0.95


@dataclass(frozen=True)
class LoopChoice:
    """The event loop the candidates are ranked inside, and how it was chosen."""

    key: str | None            # its function key (``name (file)``); None: no loop
    name: str | None           # as the user writes it
    how: str                   # given | bundle | found | found from the stacks | none
    share: float = 1.0         # its share of the run (all of the run's time)
    calls: int | None = None
    reason: str = ""

    @property
    def found(self) -> bool:
        return self.how.startswith("found")


def _basis(tree: CallTree) -> tuple[str, float]:
    return ("on_incl", tree.on_seconds) if tree.on_seconds > 0 else ("incl", tree.total_seconds)


def _entries(tree: CallTree, key: str, calls: Mapping[str, int]) -> int | None:
    """Its calls from outside: its count, or, for a recursive function, the calls of its outermost callers."""
    n = calls.get(key)
    if n is None:
        return None
    recursive, callers = tree.outermost_callers(key)
    if not recursive:
        return n
    outer = 0
    for caller in callers:
        if caller == "" or caller not in calls:
            outer += 1 if caller == "" or is_runtime_frame(*_name_file(caller)) else n
        else:
            outer += calls[caller]
    return min(n, max(1, outer))


def _name_file(key: str) -> tuple[str, str | None]:
    name, sep, rest = key.partition(" (")
    return (name, rest[:-1]) if sep else (key, None)


def _drives_by_counts(tree: CallTree, key: str, entries: int, calls: Mapping[str, int]) -> bool | None:
    """Its callees are called many times per call of it; None: none of them was counted."""
    kids = [k for k in tree.callees.get(key, {}) if k != key]
    ratios = [calls[k] / entries for k in kids if k in calls]
    return (max(ratios) >= MANY) if ratios else None


def _drives_by_stacks(tree: CallTree, key: str, row, basis: str) -> bool:
    incl = row[basis]
    own = row["on_excl" if basis == "on_incl" else "excl"]
    kids = {k: w for k, w in tree.callees.get(key, {}).items() if k != key}
    if incl <= 0 or not kids or own / incl > SELF_AT_MOST:
        return False
    whole = row["incl"]
    return max(kids.values()) / whole < TOWER if whole > 0 else False


def find_event_loop(tree: CallTree, is_user: Callable[[str | None], bool],
                    calls: Mapping[str, int] | None = None) -> LoopChoice:
    """The innermost frame that drives the run (see the module's docstring), or ``LoopChoice(None, ..., "none")``."""
    basis, total = _basis(tree)
    if total <= 0:
        return LoopChoice(None, None, "none", reason="the profile is empty")
    calls = calls or {}
    df = tree.functions
    pool = df[df[basis] / total >= HOLDS]
    mine = [is_user(f if isinstance(f, str) else None) and not is_runtime_frame(n, f if isinstance(f, str) else None)
            for n, f in zip(pool["name"], pool["file"])]
    pool = pool[pd.Series(mine, index=pool.index, dtype=bool)]
    whole = tree.total_seconds
    for row in pool.sort_values(basis, kind="stable").to_dict("records"):
        key = row["function"]
        entries = _entries(tree, key, calls)
        by_counts = None
        if entries is not None:
            if entries > FEW:
                continue
            by_counts = _drives_by_counts(tree, key, entries, calls)
        drives = by_counts if by_counts is not None else _drives_by_stacks(tree, key, row, basis)
        if drives:
            how = "found" if by_counts is not None else "found from the stacks"
            return LoopChoice(key, row["name"], how, row["incl"] / whole if whole else 0.0, calls.get(key),
                              _found_reason(row, basis, total, entries, by_counts is not None))
    return LoopChoice(None, None, "none", reason=(
        "no frame called once or a few times holds most of the run and calls its work many times: "
        "every function is ranked"))


def _found_reason(row, basis: str, total: float, entries: int | None, counted: bool) -> str:
    held = f"{100 * row[basis] / total:.0f}% of the run's {'on-CPU ' if basis == 'on_incl' else ''}time"
    if counted:
        return f"holds {held}, called {entries:,} time(s), its callees many times per call"
    return f"holds {held}, spread over its callees (no call counts: found from the stacks)"


def whole_run_frames(tree: CallTree, calls: Mapping[str, int] | None = None) -> set[str]:
    """Frames that hold nearly all of the outermost frame's time (:data:`WHOLE_RUN`) and are called a few times
    (or not counted): the program itself."""
    basis, total = _basis(tree)
    df = tree.functions
    if total <= 0 or df.empty:
        return set()
    calls = calls or {}
    rows = df[df[basis] >= WHOLE_RUN * df[basis].max()]
    big = set(rows["function"])

    def program(row) -> bool:
        """Counted: called a few times. Not counted: around another such frame, or driving its callees (its own
        time small and spread over them); a kernel holding nearly the whole run stays a candidate."""
        k = row["function"]
        if k in calls:
            return calls[k] <= FEW
        return any(g in big for g in tree.callees.get(k, {}) if g != k) or _drives_by_stacks(tree, k, row, basis)

    return {r["function"] for r in rows.to_dict("records") if program(r)}


__all__ = ["LoopChoice", "find_event_loop", "whole_run_frames", "HOLDS", "FEW", "MANY"]
