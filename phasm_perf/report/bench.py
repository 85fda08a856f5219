"""The bench report rendered: a terminal summary (rich) and an HTML page with the plot of predicted against
measured. The report itself (the versioned schema of ``bench.json``) is :mod:`phasm_perf.bench.report`.

The page is ``report/templates/bench.html`` (autoescaped) with ``bench.css`` inlined and the plot as an inline PNG.
Terminal lines that carry names (the function, paths, notes) are printed as :class:`rich.text.Text`: a name with
``[...]`` in it is text, not rich markup.
"""

from __future__ import annotations

import base64
import io

from rich.table import Table
from rich.text import Text

from ..bench.report import BenchReport, EndToEnd, SweepSummary
from ..core.units import fmt_seconds, fmt_signed_share
from .pages import render_page
from .roofline_plot import literal


def render_html(report: BenchReport) -> str:
    plot = base64.b64encode(plot_png(report)).decode("ascii")
    return render_page("bench.html", r=report.model_dump(), plot=plot)


# ------------------------------------------------------------------------------------------------ terminal
def render_terminal(report: BenchReport, console) -> None:
    for line in _header(report):
        console.print(line)
    console.print(_per_batch_table(report))
    if report.end_to_end:
        console.print(_end_to_end_table(report.end_to_end))
    if report.sweep:
        console.print(_sweep_table(report.sweep))
        for n in report.sweep.notes:
            console.print(Text(f"sweep note: {n}", style="dim"))
    cal = report.per_batch_median_calibrated_error
    console.print(f"prediction error: per batch (median) {_unsigned(report.per_batch_median_error)}"
                  + (f" ({_unsigned(cal)} at the core's speed of the moment, x{report.speed.ratio:.2f})"
                     if cal is not None and report.speed else "")
                  + f", end to end {_unsigned(report.end_to_end_error)}{_at_run_speed(report.end_to_end)}; "
                  f"verdict: {report.verdict}")
    for n in report.notes:
        console.print(Text(f"note: {n}", style="dim"))


def _at_run_speed(e: EndToEnd | None) -> str:
    """`` (x% at the core's speed in the surrogate runs, x1.23)``, for the first variant when its runs timed the
    probe."""
    v = e.variants[0] if e and e.variants else None
    if v is None or v.speedup_error_at_run_speed is None or v.speed is None:
        return ""
    return f" ({_unsigned(v.speedup_error_at_run_speed)} at the core's speed in the runs, x{v.speed.ratio:.2f})"


def _header(report: BenchReport) -> list[Text]:
    c, t, p, d = report.capture, report.training, report.prediction, report.device
    t_f = report.end_to_end.seconds_per_call if report.end_to_end else c.seconds_per_call
    skipped = f"; not inputs: {', '.join(s.name for s in c.skipped_inputs)}" if c.skipped_inputs else ""
    return [
        Text.assemble((report.function, "bold"), f"  {c.calls} calls, t_f {fmt_seconds(t_f)} per call; "
                      f"{c.samples} samples, {len(c.input_names)} inputs -> {len(c.output_names)} outputs{skipped}"),
        Text(f"surrogate {t.surrogate} {t.dtype}: {t.epochs} epochs (best {t.best_epoch}), validation "
             f"relative error max {_unsigned(t.max_relative_error)}, saved {t.path}"),
        Text(f"device {d.device} ({d.name}, threads {d.threads}, {d.runtime}, {d.clock}); cuda {d.cuda}; prediction: "
             + (f"{p.hardware} {p.dtype}" if p.status == "ok" else p.status)),
    ]


def _table(title: str, columns: tuple[str, ...], left: tuple[str, ...]) -> Table:
    tab = Table(title=title, title_justify="left")
    for col in columns:
        tab.add_column(col, justify="left" if col in left else "right")
    return tab


def _per_batch_table(report: BenchReport) -> Table:
    tab = _table("time per batch: measured vs predicted",
                 ("batch", "measured", "predicted", "error", "per call", "bound"), ("bound",))
    for r in report.per_batch:
        tab.add_row(str(r.batch), fmt_seconds(r.measured_seconds), fmt_seconds(r.predicted_seconds),
                    fmt_signed_share(r.error), fmt_seconds(r.measured_seconds_per_call), r.bound or "-")
    return tab


def _end_to_end_table(e: EndToEnd) -> Table:
    probed = any(v.speed is not None for v in e.variants)  # the runs timed the speed probe (a CPU profile has it)
    tab = _table(f"end to end (median of {e.repeats}; baseline {fmt_seconds(e.baseline_seconds)})",
                 ("run", "batches", "seconds", "speedup", "predicted", "error")
                 + (("probe time", "predicted at it", "error ") if probed else ()) + ("output max rel change",),
                 ("run", "batches"))
    for v in e.variants:
        at_speed = (f"x{v.speed.ratio:.2f}" if v.speed else "-",
                    f"{v.predicted_speedup_at_run_speed:.3g}x" if v.predicted_speedup_at_run_speed else "-",
                    fmt_signed_share(v.speedup_error_at_run_speed)) if probed else ()
        tab.add_row(v.name, batches_text(v.batches), fmt_seconds(v.seconds), f"{v.measured_speedup:.3g}x",
                    f"{v.predicted_speedup:.3g}x" if v.predicted_speedup else "-", fmt_signed_share(v.speedup_error),
                    *at_speed, f"{v.output_change.max_rel:.3g}" if v.output_change.max_rel is not None else "-")
    return tab


def _sweep_table(sw: SweepSummary) -> Table:
    tab = _table(f"sweep: {sw.trials} trials on {sw.scheduler} ({sw.workers} workers), {fmt_seconds(sw.seconds)}",
                 ("surrogate", "dtype", "batch", "measured", "predicted", "error", "validation rel. error"),
                 ("surrogate", "dtype"))
    for r in sw.rows:
        tab.add_row(r.surrogate, r.dtype, str(r.batch), fmt_seconds(r.measured_seconds),
                    fmt_seconds(r.predicted_seconds), fmt_signed_share(r.error),
                    _unsigned(r.validation_relative_error))
    return tab


def batches_text(batches: dict[str, int]) -> str:
    """``{"25": 40}`` -> ``'40x25'``: how many batches of each size a run formed."""
    return ", ".join(f"{n}x{b}" for b, n in batches.items())


def _unsigned(x: float | None) -> str:
    return fmt_signed_share(x).lstrip("+")


# ------------------------------------------------------------------------------------------------ plot
def plot_png(report: BenchReport) -> bytes:
    """Two panels: time per call against batch size (measured, predicted, the original's t_f), and the end-to-end
    speedups (measured and predicted per variant, Amdahl's limit)."""
    from matplotlib.figure import Figure  # heavy: only when a page is written

    fig = Figure(figsize=(11, 4.2))
    ax, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    _per_call_panel(ax, report)
    if report.end_to_end:
        _end_to_end_panel(ax2, report.end_to_end)
    else:
        ax2.axis("off")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


def _per_call_panel(ax, report: BenchReport) -> None:
    rows = report.per_batch
    b = [r.batch for r in rows]
    m = [r.measured_seconds_per_call for r in rows]
    lo = [r.measured_p25 / r.batch for r in rows]
    hi = [r.measured_p75 / r.batch for r in rows]
    ax.errorbar(b, m, yerr=[[x - y for x, y in zip(m, lo)], [y - x for x, y in zip(m, hi)]], fmt="o",
                label="measured (median, p25-p75)", color="C0")
    pred = [(r.batch, r.predicted_seconds_per_call) for r in rows if r.predicted_seconds_per_call]
    if pred:
        ax.plot(*zip(*pred), "-", color="C1", label=literal(f"predicted ({report.prediction.hardware})"))
    ax.axhline(report.capture.seconds_per_call, color="C2", ls="--", label="original function t_f")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("batch size B")
    ax.set_ylabel("seconds per call, t_s(B)")
    ax.set_title("surrogate time per call")
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)


def _end_to_end_panel(ax, e: EndToEnd) -> None:
    labels = [v.name for v in e.variants]
    x = range(len(labels))
    ax.bar([i - 0.2 for i in x], [v.measured_speedup for v in e.variants], 0.4, label="measured", color="C0")
    ax.bar([i + 0.2 for i in x], [v.predicted_speedup or 0.0 for v in e.variants], 0.4, label="predicted",
           color="C1")
    ax.axhline(1.0, color="k", lw=0.8)
    rest = e.baseline_seconds - e.calls * e.seconds_per_call
    if rest > 0:
        ax.axhline(e.baseline_seconds / rest, color="C2", ls="--", lw=1, label="Amdahl limit")
    ax.set_xticks(list(x))
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_ylabel("end-to-end speedup T / T'")
    ax.set_title("end to end")
    ax.legend(fontsize=8, loc="best", framealpha=0.9)


__all__ = ["render_html", "render_terminal", "plot_png", "batches_text"]
