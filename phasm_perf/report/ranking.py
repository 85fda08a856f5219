"""From a bundle to the ranked candidates: shares, on/off-CPU split, calls, time per call, Amdahl's limit."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from .. import __version__
from ..calltree.tree import CallTree
from ..candidates import SelectOptions, Selection, check_event_loop, select
from ..core.bundle import Analysis, Bundle
from ..model.laws import amdahl_limit
from .schema import Candidate, Excluded, RankReport


@dataclass(frozen=True)
class RankOptions:
    """How to rank. ``event_loop`` and ``min_fraction`` left at None take the bundle's own (the options it was
    profiled with, :class:`~phasm_perf.core.bundle.Analysis`)."""

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


def _user_roots(bundle: Bundle) -> tuple[str, ...]:
    import os

    if bundle.meta.program:
        return (os.path.dirname(bundle.meta.program),)
    return ()


def selection_of(bundle: Bundle, options: RankOptions = RankOptions()) -> Selection:
    tree = CallTree(bundle.on_cpu, bundle.off_cpu, bundle.meta.seconds_per_unit)
    analysis = options.analysis(bundle)
    check_event_loop([bundle.on_cpu, bundle.off_cpu], analysis.event_loop, repr(str(bundle.path)))
    return select(tree, SelectOptions(event_loop=analysis.event_loop, min_fraction=analysis.min_fraction,
                                      user_roots=_user_roots(bundle)))


def build_report(bundle: Bundle, options: RankOptions = RankOptions()) -> RankReport:
    sel = selection_of(bundle, options)
    total = sel.total_seconds
    whole = CallTree(bundle.on_cpu, bundle.off_cpu, bundle.meta.seconds_per_unit)
    calls = {c.function: c.calls for c in bundle.meta.counts.functions}
    def_line = {c.function: c.line for c in bundle.meta.counts.functions if c.line}
    counted = bundle.meta.counts.status.startswith("exact")
    cands: list[Candidate] = []
    for i, row in enumerate(sel.candidates.head(options.top).itertuples(index=False), 1):
        p = row.incl / total if total > 0 else 0.0
        p_on = row.on_incl / total if total > 0 else 0.0
        n = calls.get(row.function) if counted else None
        cands.append(Candidate(
            rank=i,
            function=row.name,
            key=row.function,
            file=row.file if isinstance(row.file, str) else None,
            line=def_line.get(row.function, _int_or_none(row.line)),
            inclusive_seconds=row.incl,
            share=p,
            on_cpu_seconds=row.on_incl,
            off_cpu_seconds=row.off_incl,
            on_cpu_fraction=row.on_fraction,
            self_seconds=row.excl,
            kind=row.kind,
            calls=n,
            seconds_per_call=(row.incl / n) if n else None,
            amdahl_limit=amdahl_limit(p),
            amdahl_limit_on_cpu=amdahl_limit(p_on),
        ))
    excluded = [
        Excluded(function=r.function, share=r.incl / total if total else 0.0, reason=r.excluded)
        for r in sel.table[sel.table["excluded"] != ""].sort_values("incl", ascending=False)
        .head(options.show_excluded).itertuples(index=False)
    ]
    notes = list(bundle.meta.notes) + sel.notes
    if bundle.meta.threads and bundle.meta.threads > 1:
        notes.append(f"{bundle.meta.threads} threads were sampled: shares are of their summed time")
    if any(c.kind == "waiting" for c in cands):
        notes.append("functions marked 'waiting' spend most of their time off-CPU: a surrogate does not remove a wait")
    return RankReport(
        tool_version=__version__,
        source=str(bundle.path),
        argv=bundle.meta.argv,
        status=bundle.meta.status,
        exit_status=bundle.meta.exit_status,
        collector=bundle.meta.collector.name,
        wall_seconds=bundle.meta.wall_seconds,
        sampled_seconds=total,
        unit=weight_unit_of(bundle),
        on_cpu_seconds=whole.on_seconds,
        off_cpu_seconds=whole.off_seconds,
        threads=bundle.meta.threads or None,
        calls_status=bundle.meta.counts.status,
        gpu=bundle.meta.gpu,
        options={**options.analysis(bundle).model_dump(include={"event_loop", "min_fraction"}), "top": options.top},
        candidates=cands,
        excluded=excluded,
        notes=notes,
    )
