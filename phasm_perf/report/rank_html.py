"""``rank --html REPORT``: one self-contained HTML page (no network): summary, ranking table with the predictions,
and the roofline plot (inline SVG) placing each candidate's surrogate at its batch sizes, with the PyTorch operators
that ``--torch-profiler`` measured. The page is ``report/templates/rank.html`` (autoescaped: every function name
and path is text) with ``rank.css`` inlined."""

from __future__ import annotations

import math
import os
from pathlib import Path

from ..collect.torch_ops import OperatorPoint, load_ops, roofline_points
from ..core.units import (fmt_bandwidth, fmt_bytes, fmt_flop_count, fmt_flops, fmt_seconds, fmt_share,
                          fmt_speedup)
from ..hardware import HardwareProfile
from ..model.spec import parse_hidden
from ..model.surrogate import MLP, sweep
from .pages import render_page, trusted
from .render import summary_lines
from .roofline_plot import figure_svg, place_operators, roofline_figure
from .schema import Candidate, RankReport

#: the ranking table's columns: (heading, left-aligned)
COLUMNS = [(h, h in ("function", "where", "kind", "bound", "surrogate"))
           for h in ("#", "function", "where", "share", "calls", "time/call", "Amdahl max", "kind", "predicted speedup",
                     "best batch", "break-even batch", "bound", "Gustafson", "utilisation", "surrogate")]
#: the PyTorch operators' table
OPERATOR_COLUMNS = [(h, h in ("operator", "bound"))
                    for h in ("operator", "calls", "time", "FLOPs", "moved", "FLOP/byte", "achieved", "of roof",
                              "bound")]


def render_html(report: RankReport, profile: HardwareProfile | None = None) -> str:
    plot, operators, dtype = None, [], "fp32"
    if profile is not None:
        dtype = next((c.predicted.dtype for c in report.candidates if c.predicted), "fp32")
        plot, operators = _roofline(report, profile, dtype)
    title = f"phasm-perf: {' '.join(report.argv) if report.argv else report.source}"
    return render_page("rank.html", title=title, summary=summary_lines(report), columns=COLUMNS,
                       candidates=[_cells(c) for c in report.candidates], notes=list(report.notes), plot=plot,
                       operator_columns=OPERATOR_COLUMNS, operators=operators, dtype=dtype,
                       hardware=_hw_line(profile))


def _cells(c: Candidate) -> dict:
    """One row of the ranking table, as printed."""
    p = c.predicted
    return {
        "rank": c.rank, "function": c.function, "where": f"{c.file or ''}{':' + str(c.line) if c.line else ''}",
        "share": fmt_share(c.share), "calls": "-" if c.calls is None else f"{c.calls:,}",
        "time_per_call": fmt_seconds(c.seconds_per_call), "amdahl": fmt_speedup(c.amdahl_limit), "kind": c.kind,
        "speedup": fmt_speedup(p.speedup) if p else "-",
        "best_batch": "-" if not p or p.best_batch is None else f"{p.best_batch:,}",
        "never": bool(p) and p.break_even_batch is None,
        "break_even": "-" if not p or p.break_even_batch is None else f"{p.break_even_batch:,}",
        "bound": p.bound if p and p.bound else "-",
        "gustafson": fmt_speedup(p.gustafson_speedup) if p and p.gustafson_speedup else "-",
        "utilisation": f"{100 * p.utilisation:.2g}%" if p and p.utilisation is not None else "-",
        "surrogate": f"{p.surrogate} {p.inputs}→{p.outputs} ({p.io_source})" if p else "-",
    }


def _roofline(report: RankReport, profile: HardwareProfile, dtype: str) -> tuple[object, list[dict]]:
    """The roofline plot (inline SVG, trusted: the names in its labels went through ``roofline_plot.literal`` and
    matplotlib escapes the comments that repeat them) and the rows of the operators' table."""
    series = {}
    for c in report.candidates:
        p = c.predicted
        if p:
            mlp = MLP.of(p.inputs, parse_hidden(p.surrogate), p.outputs)
            series[f"#{c.rank} {c.function}"[:48]] = sweep(mlp, [r.batch for r in p.per_batch],
                                                           profile.device(p.dtype))
    fig = roofline_figure(profile, series, dtype,
                          f"Roofline of {profile.name} ({dtype}): each candidate's surrogate at its batch sizes")
    points = _operators(report.source, profile, dtype)
    if points:
        place_operators(fig.axes[0], points)
        fig.axes[0].legend(fontsize=7, loc="lower right")
    return trusted(figure_svg(fig)), [_operator_cells(p) for p in points]


def _operators(source: str | os.PathLike, profile: HardwareProfile, dtype: str, top: int = 8) -> list[OperatorPoint]:
    """The bundle's heaviest PyTorch operators with FLOPs (if ``--torch-profiler`` recorded any)."""
    path = Path(source)
    ops = load_ops(path if path.is_dir() else path.parent)
    if not ops:
        return []
    return roofline_points(ops, profile.device(dtype).peak, profile.main_memory().bandwidth, top)


def _operator_cells(p: OperatorPoint) -> dict:
    return {"name": p.name, "calls": f"{p.calls:,}", "time": fmt_seconds(p.seconds), "flops": fmt_flop_count(p.flops),
            "moved": fmt_bytes(p.bytes), "intensity": f"{p.intensity:.3g}", "achieved": fmt_flops(p.flops_per_second),
            "of_roof": f"{100 * p.flops_per_second / p.attainable:.2g}%", "bound": p.bound}


def _hw_line(profile: HardwareProfile | None) -> str:
    if profile is None:
        return ""
    mem = ", ".join(f"{lvl.name} {fmt_bandwidth(lvl.bandwidth)}" for lvl in profile.memory)
    peaks = ", ".join(f"{d} {fmt_flops(f.value)}" for d, f in profile.peak_flops.items()
                      if f.value and not math.isnan(f.value))
    return f"hardware {profile.name}: {profile.description}; {peaks}; {mem}"


__all__ = ["render_html", "COLUMNS", "OPERATOR_COLUMNS"]
