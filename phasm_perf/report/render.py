"""Renderers of a :class:`RankReport`: one function per format, and a map from file suffix to format."""

from __future__ import annotations

import csv
import io
from typing import Callable

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..core.units import fmt_seconds, fmt_speedup
from .formats import SUFFIX_FORMATS  # noqa: F401 (re-exported)
from .schema import RankReport

CSV_COLUMNS = ["rank", "function", "file", "line", "share", "share_low", "share_high", "share_of_loop", "tied",
               "inclusive_seconds", "on_cpu_seconds", "off_cpu_seconds", "on_cpu_fraction", "kind", "calls",
               "seconds_per_call", "amdahl_limit", "amdahl_low", "amdahl_high", "amdahl_limit_on_cpu",
               "predicted_speedup", "predicted_best_batch", "predicted_break_even_batch", "predicted_bound"]


def fmt_per_call(value: float | None, unit: str) -> str:
    """Time per call, or cost per call in the profile's own unit when its weights are not a time."""
    if unit == "s" or value is None:
        return fmt_seconds(value)
    return f"{value:,.3g} {unit}"


def _where(c) -> str:
    if not c.file:
        return ""
    import os

    f = c.file
    try:
        rel = os.path.relpath(f)
        f = rel if not rel.startswith("..") else f
    except ValueError:
        pass
    return f"{f}:{c.line}" if c.line else f


def fmt_share(c) -> str:
    """``36.2% ±2.6`` (the 95% sampling interval's half-width, in points); ``36.2%`` when the weights are exact."""
    lo, hi = c.share_interval
    pm = 100 * (hi - lo) / 2
    return f"{100 * c.share:.1f}%" + (f" ±{pm:.1f}" if pm >= 0.05 else "")


def fmt_rank(c) -> str:
    return f"≈{c.rank}" if c.tied else str(c.rank)


def loop_line(r: RankReport) -> str | None:
    loop = r.event_loop
    if loop is None:
        return None
    if loop.function is None:
        return f"event loop: none ({loop.reason or 'every function is ranked'}; --event-loop SYMBOL to name one)"
    how = {"found": "found; --event-loop to choose another",
           "found from the stacks": "found from the stacks, no call counts; --event-loop to choose another",
           "given": "--event-loop", "bundle": "as the bundle was profiled; --event-loop to choose another"}
    return f"event loop: {loop.function} ({how.get(loop.how, loop.how)})   holds {100 * loop.share:.1f}% of the run"


def summary_lines(r: RankReport) -> list[str]:
    lines = [
        f"program: {' '.join(r.argv)}" if r.argv else f"source: {r.source}",
        f"status: {r.status}" + (f" (exit {r.exit_status})" if r.exit_status not in (None, 0) else "")
        + (f"   wall: {r.wall_seconds:.2f} s" if r.wall_seconds else "")
        + (f"   sampled: {r.sampled_seconds:.2f} s (on-CPU {r.on_cpu_seconds:.2f} s, off-CPU {r.off_cpu_seconds:.2f} s)"
           if r.unit == "s" else f"   total: {r.sampled_seconds:,.0f} {r.unit} (not a time: shares are of this total)")
        + f"   collector: {r.collector}",
        f"calls: {r.calls_status}   gpu: {r.gpu}",
    ]
    loop = loop_line(r)
    if loop:
        lines.append(loop)
    return lines


def render_table(r: RankReport, console: Console | None = None) -> str:
    """The terminal table (rich). Returns the text when no console is given."""
    own = console is None
    console = console or Console(file=io.StringIO(), width=140, record=True, color_system=None)
    for line in summary_lines(r):
        console.print(escape(line), highlight=False)
    t = Table(title="Candidates for a surrogate (ordered by on-CPU time; shares of the whole run, ±: 95% sampling "
                    "interval)", title_justify="left")
    has_loop = any(c.share_of_loop is not None for c in r.candidates)
    cols = [("#", "right"), ("function", "left"), ("where", "left"), ("share", "right")]
    cols += [("of loop", "right")] if has_loop else []
    cols += [("on-CPU", "right"), ("calls", "right"), ("time/call", "right"), ("Amdahl max", "right"), ("kind", "left")]
    for col, just in cols:
        # names and file:line are never cut or folded (a pipe gets them whole, to copy or grep)
        whole = col in ("function", "where")
        t.add_column(col, justify=just, no_wrap=whole, overflow="ignore" if whole else "ellipsis")
    has_pred = any(c.predicted for c in r.candidates)
    if has_pred:
        runtime = next(c.predicted.runtime for c in r.candidates if c.predicted)
        t.add_column(f"predicted ({runtime})", justify="right")
    for c in r.candidates:
        row = [fmt_rank(c), escape(c.function), escape(_where(c)), fmt_share(c)]
        row += [f"{100 * c.share_of_loop:.1f}%" if c.share_of_loop is not None else "-"] if has_loop else []
        row += [f"{100 * c.on_cpu_fraction:.0f}%", "-" if c.calls is None else f"{c.calls:,}",
                fmt_per_call(c.seconds_per_call, r.unit), _fmt_amdahl(c),
                "[yellow]waiting[/]" if c.kind == "waiting" else c.kind]
        if has_pred:
            row.append(_fmt_prediction(c.predicted, c.predicted_speedup_interval) if c.predicted else "-")
        t.add_row(*row)
    console.print(t)
    if not r.candidates:
        console.print("no candidate above the --min-fraction threshold; see 'excluded' with --format json")
    for n in r.notes:
        console.print(f"note: {escape(n)}", highlight=False)
    if own:
        return console.export_text()
    return ""


def _fmt_amdahl(c) -> str:
    """``3.47× (3.3-3.6)``: the limit and its range over the share's interval."""
    lo, hi = c.amdahl_interval
    if lo == hi or not (lo < c.amdahl_limit * 0.995 or hi > c.amdahl_limit * 1.005):
        return fmt_speedup(c.amdahl_limit)
    return f"{fmt_speedup(c.amdahl_limit)} ({_num(lo)}-{_num(hi)})"


def _num(x: float) -> str:
    return "inf" if x == float("inf") else f"{x:.3g}"


def _fmt_prediction(p, interval=None) -> str:
    """``4.15× (3.9-4.4) @B=512, even at 1`` (the range over the share's interval; break-even batch, ``never``
    when no batch pays off)."""
    even = "never" if p.break_even_batch is None else f"{p.break_even_batch:,}"
    flagged = f", {len(p.flags)} flagged figure(s)" if p.flags else ""
    rng = f" ({_num(interval[0])}-{_num(interval[1])})" if interval and interval[0] != interval[1] else ""
    return f"{fmt_speedup(p.speedup)}{rng} @B={p.best_batch:,}, {p.bound}, even at {even}{flagged}"


def render_json(r: RankReport) -> str:
    return r.model_dump_json(indent=2) + "\n"


def _csv_row(c) -> dict:
    p = c.predicted
    return {
        "rank": c.rank, "function": c.function, "file": c.file or "", "line": c.line or "",
        "share": f"{c.share:.6f}", "share_low": f"{c.share_interval[0]:.6f}",
        "share_high": f"{c.share_interval[1]:.6f}",
        "share_of_loop": "" if c.share_of_loop is None else f"{c.share_of_loop:.6f}", "tied": int(c.tied),
        "inclusive_seconds": f"{c.inclusive_seconds:.6f}",
        "on_cpu_seconds": f"{c.on_cpu_seconds:.6f}", "off_cpu_seconds": f"{c.off_cpu_seconds:.6f}",
        "on_cpu_fraction": f"{c.on_cpu_fraction:.4f}", "kind": c.kind,
        "calls": "" if c.calls is None else c.calls,
        "seconds_per_call": "" if c.seconds_per_call is None else f"{c.seconds_per_call:.9g}",
        "amdahl_limit": f"{c.amdahl_limit:.6g}", "amdahl_low": f"{c.amdahl_interval[0]:.6g}",
        "amdahl_high": f"{c.amdahl_interval[1]:.6g}", "amdahl_limit_on_cpu": f"{c.amdahl_limit_on_cpu:.6g}",
        "predicted_speedup": f"{p.speedup:.6g}" if p else "",
        "predicted_best_batch": (p.best_batch or "") if p else "",
        "predicted_break_even_batch": (p.break_even_batch if p.break_even_batch is not None else "never") if p else "",
        "predicted_bound": (p.bound or "") if p else "",
    }


def render_csv(r: RankReport) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    w.writeheader()
    for c in r.candidates:
        w.writerow(_csv_row(c))
    return buf.getvalue()


def _md_code(text: str) -> str:
    """A name as a code span in a table cell: HTML is inert there; only ``|`` and backticks need care."""
    return "`" + text.replace("|", "\\|").replace("`", "'").replace("\n", " ") + "`"


def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")


def render_markdown(r: RankReport) -> str:
    out = [f"- {_md_cell(line)}" for line in summary_lines(r)]
    has_pred = any(c.predicted for c in r.candidates)
    out += ["", "| # | function | where | share | of loop | on-CPU | calls | time/call | Amdahl max | kind |"
            + (" predicted |" if has_pred else ""),
            "|---:|---|---|---:|---:|---:|---:|---:|---:|---|" + ("---|" if has_pred else "")]
    for c in r.candidates:
        loop = "-" if c.share_of_loop is None else f"{100 * c.share_of_loop:.1f}%"
        out.append(
            f"| {fmt_rank(c)} | {_md_code(c.function)} | {_md_cell(_where(c))} | {fmt_share(c)} | {loop} | "
            f"{100 * c.on_cpu_fraction:.0f}% | {'-' if c.calls is None else f'{c.calls:,}'} | "
            f"{fmt_per_call(c.seconds_per_call, r.unit)} | {_md_cell(_fmt_amdahl(c))} | {c.kind} |"
            + ((f" {_md_cell(_fmt_prediction(c.predicted, c.predicted_speedup_interval))} |" if c.predicted
                else " - |") if has_pred else ""))
    if r.notes:
        out.append("")
        out += [f"> note: {_md_cell(n)}" for n in r.notes]
    return "\n".join(out) + "\n"


RENDERERS: dict[str, Callable[[RankReport], str]] = {
    "table": render_table,
    "json": render_json,
    "csv": render_csv,
    "markdown": render_markdown,
}
