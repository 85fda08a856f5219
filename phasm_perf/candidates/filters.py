"""Candidate filters, each a small pure function (a superset of PHASM's ``phasm-flamegraph`` selection).

Two kinds, applied in this order by :func:`phasm_perf.candidates.select`:

*Stack filters* ``(stacks, ...) -> stacks`` change what time belongs to whom:

- :func:`restrict_to_event_loop`: keep only the time under the event-loop frame (``--event-loop SYMBOL``).
- :func:`fold_comprehensions`: a comprehension's frame belongs to the function that holds it.
- :func:`attribute_library_leaves`: time in library code at the leaf (numpy's BLAS, libm, the stdlib) goes to the
  nearest frame of the user's own code.

*Table filters* ``(functions, ...) -> functions`` mark rows of the function table excluded, with a reason in the
``excluded`` column (first reason wins), so "why is my function not a candidate?" has an answer:

- :func:`drop_event_loop_and_callers`: the event loop and the frames above it (the program's driver); with no
  loop, :func:`drop_whole_run`: the frames that are the program itself.
- :func:`drop_runtime_frames`: interpreter and start-up frames (``<module>``, importlib, thread bootstrap,
  ``__libc_start_main``, kernel ``_[k]``).
- :func:`drop_library_functions`: functions that are not the user's code (nothing to replace there).
- :func:`drop_tiny`: less than ``min_fraction`` of the run.
- :func:`drop_tower_bases`: a caller whose one callee holds >= 95% of its time (the callee is the candidate).
- :func:`flag_waiting`: not a filter but a mark: a function mostly off-CPU is waiting, not computing.
"""

from __future__ import annotations

import re
from collections import Counter
from itertools import chain
from typing import Callable, Iterable, Mapping

import pandas as pd

from ..core.codepaths import make_is_user_code  # the one rule of what is a library (re-exported here)
from ..core.folded import Stack, split_frame
from ..calltree.tree import function_key

# -- what is "runtime", what is "library" ---------------------------------------------------------------------

RUNTIME_NAMES = frozenset({
    "<module>", "<listcomp>", "<genexpr>", "<dictcomp>", "<setcomp>",
    "_run_code", "_run_module_as_main", "_run_module_code", "run_path", "run_module",
    "_bootstrap", "_bootstrap_inner", "run",  # threading (only when the file is the stdlib's, see below)
    "__libc_start_main", "__libc_start_call_main", "_start", "start_thread", "clone", "clone3",
    "__clone", "_dl_start_user", "_dl_start", "all", "[unknown]",
})
_RUNTIME_FILE_RE = re.compile(r"^<frozen |^<string>$|importlib|runpy\.py$|threading\.py$")


def is_runtime_frame(name: str, file: str | None) -> bool:
    """Interpreter, loader and thread start-up frames: never a surrogate candidate."""
    if name.endswith("_[k]") or name.startswith("[") and name.endswith("]"):
        return True
    if file and _RUNTIME_FILE_RE.search(file):
        return True
    if name in ("_bootstrap", "_bootstrap_inner", "run") and file is not None:
        return bool(file and file.endswith("threading.py"))
    if name.startswith("<") or ".<" in name:  # <module>, <listcomp>, f.<locals>.<genexpr>, <lambda>
        base = name.rsplit(".", 1)[-1]
        if base in RUNTIME_NAMES:
            return True
    if name in RUNTIME_NAMES and name not in ("_bootstrap", "_bootstrap_inner", "run"):
        return True
    if re.match(r"^(process|thread) \d+|^P\d+$|^T\d", name):
        return True
    return False


# -- stack filters ---------------------------------------------------------------------------------------------

def frame_matches(frame: str, symbol: str) -> bool:
    """Whether ``frame`` is the one ``--event-loop SYMBOL`` names (by name, last dotted part, or whole frame)."""
    name, file, _ = split_frame(frame)
    return name == symbol or name.rsplit(".", 1)[-1] == symbol or frame == symbol or function_key(frame) == symbol


def restrict_to_event_loop(stacks: Counter, symbol: str | None) -> Counter:
    """Keep only samples under the (outermost) frame named ``symbol``; ``None`` keeps everything."""
    if not symbol:
        return Counter(stacks)
    loop = matching_frames(stacks, symbol)
    out: Counter = Counter()
    for frames, w in stacks.items():
        if not loop.isdisjoint(frames):
            out[frames] += w
    return out


def matching_frames(stacks: Counter, symbol: str) -> set[str]:
    """The distinct frames of ``stacks`` that ``symbol`` names (:func:`frame_matches` once per distinct frame, not
    once per frame of every stack)."""
    return {f for f in set(chain.from_iterable(stacks)) if frame_matches(f, symbol)}


COMPREHENSIONS = frozenset({"<genexpr>", "<listcomp>", "<dictcomp>", "<setcomp>"})


def fold_comprehensions(stacks: Counter, frames: Iterable[str] | None = None) -> Counter:
    """A comprehension's frame is part of the function that holds it: fold it into that function. The same Counter
    comes back when no stack has one (no copy of a million stacks for nothing). ``frames``: every distinct frame of
    the stacks (or more), if known (a call tree's table has them): no pass over every frame to find them."""
    seen = set(frames) if frames is not None else set(chain.from_iterable(stacks))
    # Python 3.11+ qualifies them: ``run.<locals>.<listcomp>``
    folded = {f for f in seen if split_frame(f)[0].rsplit(".", 1)[-1] in COMPREHENSIONS}
    if not folded or all(map(folded.isdisjoint, stacks)):
        return stacks
    out: Counter = Counter()
    for frames, w in stacks.items():
        if not folded.isdisjoint(frames):
            frames = tuple(f for f in frames if f not in folded) or frames
        out[frames] += w
    return out


def attribute_library_leaves(stacks: Counter, is_user: Callable[[str | None], bool],
                             frames: Iterable[str] | None = None) -> Counter:
    """Strip library frames at the leaf end so their time becomes the nearest user frame's exclusive time.

    Stacks with no user frame at all are left as they are (there is nobody to give the time to). The same Counter
    comes back when no stack changes: a stack changes only when its leaf is a library frame and it holds a user
    frame (``frames``: every distinct frame of the stacks, or more, if known).
    """
    seen = set(frames) if frames is not None else {f for s in stacks for f in s}
    library = {f for f in seen if not is_user(split_frame(f)[1])}
    if len(library) == len(seen) or not any(s and s[-1] in library and not library.issuperset(s) for s in stacks):
        return stacks  # nothing stripped: the same Counter (its call tree can be reused)
    out: Counter = Counter()
    get = out.get
    for frames_, w in stacks.items():
        kept = frames_
        if frames_ and frames_[-1] in library:
            end = len(frames_) - 1
            while end > 0 and frames_[end - 1] in library:
                end -= 1
            if end > 0:
                kept = frames_[:end]
        out[kept] = get(kept, 0) + w
    return out


# -- table filters ---------------------------------------------------------------------------------------------

def _exclude(df: pd.DataFrame, mask: pd.Series, reason: str) -> pd.DataFrame:
    df = df.copy()
    if "excluded" not in df:
        df["excluded"] = ""
    hit = mask & (df["excluded"] == "")
    df.loc[hit, "excluded"] = reason
    return df


def drop_event_loop_and_callers(df: pd.DataFrame, stacks: Counter, symbol: str) -> pd.DataFrame:
    """The event loop itself and every frame above it are the program's driver, not candidates."""
    loop = matching_frames(stacks, symbol)
    above: set[str] = set()
    for frames in stacks:
        if loop.isdisjoint(frames):
            continue
        for i, f in enumerate(frames):
            if f in loop:
                above.update(frames[: i + 1])
                break
    keys = {function_key(g) for g in above}
    return _exclude(df, df["function"].isin(keys), "event loop")


def drop_whole_run(df: pd.DataFrame, keys: Iterable[str]) -> pd.DataFrame:
    """Frames that are the program itself (``main``: nearly the whole run, called once): not candidates."""
    return _exclude(df, df["function"].isin(set(keys)), "whole run")


def drop_runtime_frames(df: pd.DataFrame) -> pd.DataFrame:
    mask = pd.Series([is_runtime_frame(n, f if isinstance(f, str) else None) for n, f in zip(df["name"], df["file"])],
                     index=df.index, dtype=bool)
    return _exclude(df, mask, "runtime")


def drop_library_functions(df: pd.DataFrame, is_user: Callable[[str | None], bool]) -> pd.DataFrame:
    mask = pd.Series([not is_user(f if isinstance(f, str) else None) for f in df["file"]], index=df.index, dtype=bool)
    return _exclude(df, mask, "library")


def drop_tiny(df: pd.DataFrame, total_seconds: float, min_fraction: float = 0.02) -> pd.DataFrame:
    if total_seconds <= 0:
        return _exclude(df, pd.Series(True, index=df.index), "tiny")
    return _exclude(df, df["incl"] / total_seconds < min_fraction, "tiny")


def largest_callees(callees: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """Per caller, the time of its largest direct callee other than itself (callers that call only themselves are
    left out). A call tree's :class:`~phasm_perf.calltree.tree.Callees` computes it in numpy."""
    fast = getattr(callees, "largest_others", None)
    if fast is not None:
        return fast()
    out = {}
    for key, kids in callees.items():
        others = [t for k, t in kids.items() if k != key]
        if others:
            out[key] = max(others)
    return out


def drop_tower_bases(df: pd.DataFrame, callees: Mapping[str, Mapping[str, float]],
                     threshold: float = 0.95) -> pd.DataFrame:
    """A function whose single direct callee holds >= ``threshold`` of its inclusive time is a tower base."""
    largest = largest_callees(callees)

    def is_base(key: str, incl: float) -> bool:
        top = largest.get(key)
        return top is not None and incl > 0 and top / incl >= threshold

    mask = pd.Series([is_base(k, t) for k, t in zip(df["function"], df["incl"])], index=df.index, dtype=bool)
    return _exclude(df, mask, "tower")


def flag_waiting(df: pd.DataFrame, threshold: float = 0.5) -> pd.DataFrame:
    """Add ``on_fraction`` and ``kind``: ``waiting`` (mostly off-CPU), ``mixed`` or ``compute``."""
    df = df.copy()
    frac = (df["on_incl"] / df["incl"].where(df["incl"] > 0)).fillna(0.0)
    df["on_fraction"] = frac
    df["kind"] = "compute"
    df.loc[frac < 0.9, "kind"] = "mixed"
    df.loc[frac < threshold, "kind"] = "waiting"
    return df


__all__ = [
    "Stack", "attribute_library_leaves", "fold_comprehensions", "drop_event_loop_and_callers", "drop_whole_run",
    "drop_library_functions", "drop_runtime_frames", "drop_tiny", "drop_tower_bases", "flag_waiting", "frame_matches",
    "is_runtime_frame", "largest_callees", "make_is_user_code", "matching_frames", "restrict_to_event_loop",
]
