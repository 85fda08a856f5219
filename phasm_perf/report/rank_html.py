"""``rank --html REPORT``: one self-contained HTML page (no network): summary, ranking table with the predictions,
and the roofline plot (inline SVG) placing each candidate's surrogate at its batch sizes. Every function name and
path is escaped."""

from __future__ import annotations

import html
import math

from ..hardware import HardwareProfile
from ..model.spec import parse_hidden
from ..model.surrogate import MLP, sweep
from ..core.units import fmt_bandwidth, fmt_flops, fmt_seconds, fmt_speedup
from .render import summary_lines
from .schema import RankReport
from .roofline_plot import figure_svg, roofline_figure

_CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;font-size:0.9em}th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}
td.l,th.l{text-align:left}th{background:#f3f3f3}.note{color:#555}.never{color:#a00;font-weight:bold}
code{background:#f6f6f6;padding:0 3px}"""


def _e(x) -> str:
    return html.escape(str(x), quote=True)


def render_html(report: RankReport, profile: HardwareProfile | None = None) -> str:
    rows = []
    for c in report.candidates:
        p = c.predicted
        be = "-" if not p else (f"{p.break_even_batch:,}" if p.break_even_batch is not None
                                else '<span class="never">never</span>')
        rows.append(
            "<tr>" + "".join([
                f"<td>{c.rank}</td>", f'<td class="l"><code>{_e(c.function)}</code></td>',
                f'<td class="l">{_e(c.file or "")}{":" + str(c.line) if c.line else ""}</td>',
                f"<td>{100 * c.share:.1f}%</td>", f"<td>{'-' if c.calls is None else f'{c.calls:,}'}</td>",
                f"<td>{_e(fmt_seconds(c.seconds_per_call))}</td>", f"<td>{_e(fmt_speedup(c.amdahl_limit))}</td>",
                f'<td class="l">{_e(c.kind)}</td>',
                f"<td>{_e(fmt_speedup(p.speedup)) if p else '-'}</td>",
                f"<td>{'-' if not p or p.best_batch is None else f'{p.best_batch:,}'}</td>",
                f"<td>{be}</td>", f'<td class="l">{_e(p.bound) if p and p.bound else "-"}</td>',
                f"<td>{_e(fmt_speedup(p.gustafson_speedup)) if p and p.gustafson_speedup else '-'}</td>",
                f"<td>{f'{100 * p.utilisation:.2g}%' if p and p.utilisation is not None else '-'}</td>",
                f'<td class="l">{_e(f"{p.surrogate} {p.inputs}→{p.outputs} ({p.io_source})") if p else "-"}</td>',
            ]) + "</tr>")
    head = "".join(f'<th class="{"l" if h in ("function", "where", "kind", "bound", "surrogate") else ""}">{h}</th>'
                   for h in ("#", "function", "where", "share", "calls", "time/call", "Amdahl max", "kind",
                             "predicted speedup", "best batch", "break-even batch", "bound", "Gustafson",
                             "utilisation", "surrogate"))
    plot = "<p class='note'>no --hardware given: no prediction and no roofline</p>"
    if profile is not None:
        series = {}
        for c in report.candidates:
            p = c.predicted
            if p:
                mlp = MLP.of(p.inputs, _hidden(p.surrogate), p.outputs)
                series[f"#{c.rank} {c.function}"[:48]] = sweep(mlp, [r.batch for r in p.per_batch],
                                                               profile.device(p.dtype))
        dtype = next((c.predicted.dtype for c in report.candidates if c.predicted), "fp32")
        fig = roofline_figure(profile, series, dtype,
                              f"Roofline of {profile.name} ({dtype}): each candidate's surrogate at its batch sizes")
        from ..collect.torch_ops import add_to_roofline

        ops_table = add_to_roofline(fig, report.source, profile, dtype)
        plot = figure_svg(fig) + ops_table
    summary = "".join(f"<li>{_e(line)}</li>" for line in summary_lines(report))
    notes = "".join(f'<li class="note">{_e(n)}</li>' for n in report.notes)
    title = f"phasm-perf: {' '.join(report.argv) if report.argv else report.source}"
    return (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{_e(title)}</title>"
            f"<style>{_CSS}</style></head><body>\n<h1>{_e(title)}</h1>\n<ul>{summary}</ul>\n"
            f"<h2>Candidates for a surrogate</h2>\n<table><thead><tr>{head}</tr></thead><tbody>\n"
            + "\n".join(rows) + "\n</tbody></table>\n"
            f"<ul>{notes}</ul>\n<h2>Roofline</h2>\n<div>{plot}</div>\n"
            f"<p class='note'>{_e(_hw_line(profile))}</p>\n</body></html>\n")


def _hidden(spec: str) -> tuple[int, ...]:
    return parse_hidden(spec)


def _hw_line(profile: HardwareProfile | None) -> str:
    if profile is None:
        return ""
    mem = ", ".join(f"{lvl.name} {fmt_bandwidth(lvl.bandwidth)}" for lvl in profile.memory)
    peaks = ", ".join(f"{d} {fmt_flops(f.value)}" for d, f in profile.peak_flops.items()
                      if f.value and not math.isnan(f.value))
    return f"hardware {profile.name}: {profile.description}; {peaks}; {mem}"
