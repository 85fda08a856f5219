"""The search report's renderers: the Pareto-front table in the terminal (rich), the plot of error against predicted
speedup with the front highlighted (PNG, matplotlib), and the HTML page (Jinja2 template ``templates/search.html``,
autoescaped: function names and paths come from the user's program)."""

from __future__ import annotations

import base64
import io
from pathlib import Path

from ..search.schema import SearchReport
from ..core.units import fmt_seconds as fmt_s, fmt_share as pct, fmt_signed_share, fmt_speedup as times

TEMPLATES = Path(__file__).parent / "templates"


def batch_text(v: int | None) -> str:
    return "never" if v is None else str(v)


def counts(report: SearchReport) -> dict[str, int]:
    out = {"complete": 0, "pruned": 0, "failed": 0}
    for t in report.trials:
        out[t.state] += 1
    return out


def render_terminal(report: SearchReport, console) -> None:
    from rich.table import Table

    c = counts(report)
    console.print(f"[bold]{report.function}[/]  study {report.study} ({report.sampler}), {report.status}: "
                  f"{c['complete']} complete, {c['pruned']} pruned, {c['failed']} failed of {report.trials_requested};"
                  f" {report.seconds:.0f} s on {report.scheduler} ({report.workers} workers)")
    console.print(f"error on {report.capture.held_back} held-back calls; speedup predicted at batch {report.batch} on "
                  f"{report.hardware} (t_f {fmt_s(report.capture.seconds_per_call)}, {report.capture.calls} calls)")
    measured = any(p.measured_seconds_per_batch is not None for p in report.pareto)
    synthetic = any(p.error_without_synthetic is not None for p in report.pareto)
    tab = Table(title="Pareto front: error against predicted speedup", title_justify="left")
    cols = ["trial", "architecture", "dtype", "error", "predicted speedup", "break-even batch"]
    if measured:
        cols += ["pred./batch", "meas./batch", "time err.", "meas. speedup"]
    if synthetic:
        cols += ["err. w/o synth."]
    for col in cols:
        tab.add_column(col, justify="left" if col in ("architecture", "dtype") else "right")
    for p in report.pareto:
        row = [str(p.number), f"{p.surrogate} {p.activation}", p.dtype, pct(p.error),
               times(p.predicted_speedup),
               batch_text(p.break_even_batch)]
        if measured:
            row += [fmt_s(p.predicted_seconds_per_batch), fmt_s(p.measured_seconds_per_batch),
                    fmt_signed_share(p.time_error), times(p.measured_speedup)]
        if synthetic:
            row += [pct(p.error_without_synthetic)]
        tab.add_row(*row)
    if report.pareto:
        console.print(tab)
    if report.registered:
        r = report.registered
        console.print(f"registered: {r.model_uri} (version {r.version}, trial {r.trial})")
    if report.synthetic and report.synthetic.refused:
        console.print(f"[dim]note: no synthetic data: {report.synthetic.refused}[/]")
    for n in report.notes:
        console.print(f"[dim]note: {n}[/]")


def plot_png(report: SearchReport) -> bytes:
    import matplotlib.ticker
    from matplotlib.figure import Figure  # no pyplot: the caller's backend (a notebook's inline one) is left alone

    done = [t for t in report.trials if t.state == "complete" and t.error is not None]
    on_front = {p.number for p in report.pareto}
    fig = Figure(figsize=(7.5, 4.6))
    ax = fig.subplots()
    # errors far above the front (diverged trials) would squash it: drawn at the top edge, as triangles
    top = 10 * max(p.error for p in report.pareto) if report.pareto else max((t.error for t in done), default=1.0)
    rest = [t for t in done if t.number not in on_front and t.error <= top]
    high = [t for t in done if t.number not in on_front and t.error > top]
    ax.scatter([t.predicted_speedup for t in rest], [t.error for t in rest], s=22, color="0.6",
               label=f"trials ({len(done)} complete)")
    if high:
        ax.scatter([t.predicted_speedup for t in high], [top] * len(high), marker="^", s=26, color="0.6",
                   label=f"error above {top:.0%} ({len(high)})")
    front = sorted(report.pareto, key=lambda p: p.predicted_speedup)
    if front:
        ax.step([p.predicted_speedup for p in front], [p.error for p in front], where="post", color="C3", lw=1,
                alpha=0.6)
        ax.scatter([p.predicted_speedup for p in front], [p.error for p in front], s=48, color="C3", zorder=3,
                   label="Pareto front (#trial)")
        for i, p in enumerate(sorted(report.pareto, key=lambda p: p.error)):
            ax.annotate(f"#{p.number}", (p.predicted_speedup, p.error), textcoords="offset points",
                        xytext=(6 if i % 2 == 0 else -22, 2), fontsize=7)
    if any(t.predicted_speedup < 1.5 for t in done):
        ax.axvline(1.0, color="k", lw=0.8, ls=":", label="no payoff (1x)")
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel(f"predicted end-to-end speedup (batch {report.batch}, {report.hardware})")
    ax.set_ylabel("error on held-back calls (max rel. MAE)")
    ax.set_title(f"{report.function}: {len(done)} surrogates")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


def render_html(report: SearchReport, png: bytes | None = None) -> str:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]))
    on_front = {p.number for p in report.pareto}
    front = [dict(p.model_dump(), error_text=pct(p.error), speedup_text=times(p.predicted_speedup),
                  break_even_text=batch_text(p.break_even_batch), predicted_text=fmt_s(p.predicted_seconds_per_batch),
                  measured_text=fmt_s(p.measured_seconds_per_batch), time_error_text=fmt_signed_share(p.time_error),
                  measured_speedup_text=times(p.measured_speedup), without_text=pct(p.error_without_synthetic))
             for p in report.pareto]
    trials = [dict(t.model_dump(), on_front=t.number in on_front, error_text=pct(t.error),
                   speedup_text=times(t.predicted_speedup), break_even_text=batch_text(t.break_even_batch),
                   lr_text=f"{t.lr:.2g}", epochs_text=f"{t.epochs_run or '-'} / {t.epochs}") for t in report.trials]
    return env.get_template("search.html").render(
        r=report.model_dump(), counts=counts(report), tf=fmt_s(report.capture.seconds_per_call),
        png=base64.b64encode(png if png is not None else plot_png(report)).decode("ascii"), front=front,
        trials=trials, measured=any(p.measured_seconds_per_batch is not None for p in report.pareto),
        synthetic=any(p.error_without_synthetic is not None for p in report.pareto),
        synth=report.synthetic.model_dump() if report.synthetic else None,
        registered=report.registered.model_dump() if report.registered else None)
