"""From a bundle to the ranked candidates: shares (with their sampling interval), their share of the event loop,
the on/off-CPU split, calls, time per call and Amdahl's limit."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import pandas as pd

from .. import __version__
from ..calltree.tree import CallTree
from ..candidates import SelectOptions, Selection, check_event_loop, select
from ..core.bundle import Analysis, Bundle
from ..model.laws import amdahl_limit
from .schema import Candidate, EventLoop, Excluded, RankReport
from .uncertainty import overlaps, share_interval


@dataclass(frozen=True)
class RankOptions:
    """How to rank. ``event_loop`` and ``min_fraction`` left at None take the bundle's own (the options it was
    profiled with, :class:`~phasm_perf.core.bundle.Analysis`); an event loop named nowhere is found."""

    event_loop: str | None = None
    min_fraction: float | None = None
    top: int = 10
    show_excluded: int = 10

    def analysis(self, bundle: Bundle) -> Analysis:
        """The bundle's analysis options with this ranking's overrides."""
        given = {"event_loop": self.event_loop, "min_fraction": self.min_fraction}
        return bundle.meta.analysis.model_copy(update={k: v for k, v in given.items() if v is not None})


def _int_or_none(v) -> int | None:
    try:
        return None if v is None or v is pd.NA or math.isnan(float(v)) else int(v)
    except (TypeError, ValueError):
        return None


TIME_UNITS = {"s", "seconds", "ms", "us", "ns"}


def weight_unit_of(bundle: Bundle) -> str:
    """'s' when the bundle's weights convert to seconds (a time unit, or a known conversion such as py-spy's
    samples at a known rate or callgrind's instructions calibrated by a native run), else the weight's own unit
    (a profile file's samples or instructions)."""
    m = bundle.meta
    if m.weight_unit in TIME_UNITS or m.seconds_per_unit != 1.0:
        return "s"
    return m.weight_unit or "units"


def sample_count(bundle: Bundle, tree: CallTree) -> int | None:
    """N of the shares' intervals: the samples the profile's time was taken from (every thread's). None: weights
    that are exact (callgrind's instruction counts), so no sampling error."""
    m = bundle.meta
    if m.collector.name == "callgrind" or m.weight_unit in ("Ir", "instructions"):
        return None
    if m.weight_unit == "samples":
        return int(round(sum(bundle.on_cpu.values()) + sum(bundle.off_cpu.values()))) or None
    interval = m.collector.interval_seconds
    if interval and tree.total_seconds > 0:
        return max(1, int(round(tree.total_seconds / interval)))
    return m.samples or None


def _user_roots(bundle: Bundle) -> tuple[str, ...]:
    if bundle.meta.program:
        return (os.path.dirname(bundle.meta.program),)
    return ()


def calls_by_key(bundle: Bundle, keys) -> dict[str, int]:
    """Exact calls by the call tree's function keys. A count keyed ``Class.method (file)`` also serves a frame named
    ``method (file)`` (py-spy names frames by the code's short name) when only one function of that file has it."""
    counts = bundle.meta.counts
    if not counts.status.startswith("exact"):
        return {}
    out = {c.function: c.calls for c in counts.functions}
    short: dict[tuple[str | None, str], list[int]] = {}
    for c in counts.functions:
        name = c.function.split(" (", 1)[0]
        short.setdefault((c.file, name.rsplit(".", 1)[-1]), []).append(c.calls)
    for k in keys:
        if k not in out:
            name, _, rest = k.partition(" (")
            got = short.get((rest[:-1] if rest else None, name))
            if got and len(got) == 1:
                out[k] = got[0]
    return out


def selection_of(bundle: Bundle, options: RankOptions = RankOptions(), tree: CallTree | None = None) -> Selection:
    """The candidate filters on the bundle's call tree (``tree``: that tree if already built, reused)."""
    if tree is None or tree.on_cpu is not bundle.on_cpu or tree.off_cpu is not bundle.off_cpu:
        tree = CallTree(bundle.on_cpu, bundle.off_cpu, bundle.meta.seconds_per_unit)
    analysis = options.analysis(bundle)
    check_event_loop([bundle.on_cpu, bundle.off_cpu], analysis.event_loop, repr(str(bundle.path)))
    how = "given" if options.event_loop is not None else "bundle"
    # (the keys only matter when there are counts: a profile file without them builds no function table here)
    calls = calls_by_key(bundle, tree.functions["function"]) if bundle.meta.counts.status.startswith("exact") else {}
    return select(tree, SelectOptions(event_loop=analysis.event_loop, loop_how=how,
                                      min_fraction=analysis.min_fraction, user_roots=_user_roots(bundle)),
                  calls=calls)


def _calls_note(bundle: Bundle, key: str) -> str:
    """Why a candidate has no exact count: counts were not asked for, could not be taken, or not for it."""
    counts = bundle.meta.counts
    if not counts.status.startswith("exact"):
        why = counts.status.removeprefix("unavailable").strip(" ()") or "not collected"
        return f"no call count: {why}"
    return "no call count: " + counts.not_counted.get(key, "this function was not counted")


def _share(part: float, whole: float) -> float:
    """part / whole for a part of the whole's samples; the two are summed in different orders, so the quotient of
    a part that is the whole can come out one ulp above 1 (it did, in CI): a share is at most 1."""
    return min(1.0, part / whole) if whole > 0 else 0.0


def _candidates(sel: Selection, bundle: Bundle, calls: dict[str, int], n: int | None, top: int) -> list[Candidate]:
    total = sel.total_seconds
    loop_total = sel.tree.total_seconds if sel.loop.key or sel.loop.name else None
    def_line = {c.function: c.line for c in bundle.meta.counts.functions if c.line}
    out: list[Candidate] = []
    previous_on = None
    for i, row in enumerate(sel.candidates.head(top).itertuples(index=False), 1):
        p = _share(row.incl, total)
        p_on = _share(row.on_incl, total)
        interval = share_interval(p, n)
        on_interval = share_interval(p_on, n)
        calls_n = calls.get(row.function)
        out.append(Candidate(
            rank=i, function=row.name, key=row.function,
            file=row.file if isinstance(row.file, str) else None,
            line=def_line.get(row.function, _int_or_none(row.line)),
            inclusive_seconds=row.incl, share=p, share_interval=interval,
            samples=int(round(p * n)) if n else None,
            share_of_loop=_share(row.incl, loop_total) if loop_total else None,
            on_cpu_seconds=row.on_incl, off_cpu_seconds=row.off_incl, on_cpu_fraction=row.on_fraction,
            self_seconds=row.excl, kind=row.kind, calls=calls_n,
            calls_note=None if calls_n else _calls_note(bundle, row.function),
            seconds_per_call=(row.incl / calls_n) if calls_n else None,
            amdahl_limit=amdahl_limit(p), amdahl_interval=(amdahl_limit(interval[0]), amdahl_limit(interval[1])),
            amdahl_limit_on_cpu=amdahl_limit(p_on),
            tied=previous_on is not None and n is not None and overlaps(previous_on, on_interval),
        ))
        previous_on = on_interval
    return out


def _loop_of(sel: Selection) -> EventLoop:
    loop = sel.loop
    return EventLoop(function=loop.name, key=loop.key, how=loop.how, share=loop.share, calls=loop.calls,
                     reason=loop.reason)


def _notes(bundle: Bundle, sel: Selection, cands: list[Candidate]) -> list[str]:
    notes = list(bundle.meta.notes) + sel.notes
    if bundle.meta.threads and bundle.meta.threads > 1:
        notes.append(f"{bundle.meta.threads} threads were sampled: shares are of their summed time")
    if any(c.kind == "waiting" for c in cands):
        notes.append("functions marked 'waiting' spend most of their time off-CPU: a surrogate does not remove a wait")
    if any(c.tied for c in cands):
        notes.append("rows marked '≈' are within sampling noise of the row above (their 95% intervals overlap): "
                     "their order may swap between runs; a longer run or a shorter --interval separates them")
    return notes


def build_report(bundle: Bundle, options: RankOptions = RankOptions(), tree: CallTree | None = None) -> RankReport:
    sel = selection_of(bundle, options, tree)
    total = sel.total_seconds
    whole = CallTree(bundle.on_cpu, bundle.off_cpu, bundle.meta.seconds_per_unit)
    calls = calls_by_key(bundle, sel.table["function"])
    n = sample_count(bundle, whole)
    cands = _candidates(sel, bundle, calls, n, options.top)
    excluded = [
        Excluded(function=r.function, share=_share(r.incl, total), reason=r.excluded)
        for r in sel.table[sel.table["excluded"] != ""].sort_values("incl", ascending=False)
        .head(options.show_excluded).itertuples(index=False)
    ]
    analysis = options.analysis(bundle)
    opts = {"event_loop": sel.loop.name, "event_loop_how": sel.loop.how, "min_fraction": analysis.min_fraction,
            "top": options.top}
    m = bundle.meta
    return RankReport(
        tool_version=__version__, source=str(bundle.path), argv=m.argv, status=m.status, exit_status=m.exit_status,
        collector=m.collector.name, wall_seconds=m.wall_seconds, sampled_seconds=total, unit=weight_unit_of(bundle),
        on_cpu_seconds=whole.on_seconds, off_cpu_seconds=whole.off_seconds, threads=m.threads or None,
        calls_status=m.counts.status, samples=n, event_loop=_loop_of(sel), gpu=m.gpu, options=opts,
        candidates=cands, excluded=excluded, notes=_notes(bundle, sel, cands),
    )
