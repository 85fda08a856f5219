"""The bench report: a versioned pydantic schema (JSON), a terminal summary (rich) and an HTML page with the plot.

The headline numbers are the prediction's errors: ``per_batch_median_error`` (the median over batch sizes of
``|predicted / measured - 1|`` for the surrogate's time per batch) and ``end_to_end_error`` (the same for the
end-to-end speedup). Every measured figure sits beside its predicted one.
"""

from __future__ import annotations

import base64
import html
import io
from typing import Literal

from pydantic import BaseModel, Field

SCHEMA_VERSION = 1


class InputInfo(BaseModel):
    name: str
    width: int = Field(description="how many numbers this argument flattens to")
    kind: str = Field(description="float, int, bool, tuple, list, dict, ndarray")


class SkippedInput(BaseModel):
    name: str
    reason: str


class CaptureSummary(BaseModel):
    calls: int = Field(description="calls of the function in the capture run")
    samples: int = Field(description="calls kept (uniform reservoir sample within the budget)")
    budget: int
    inputs: list[InputInfo]
    skipped_inputs: list[SkippedInput] = Field(description="arguments that are not numbers: not surrogate inputs")
    input_names: list[str]
    output_names: list[str]
    constant_inputs: list[str] = Field(description="inputs that never changed in the sample")
    result_kind: str
    seconds_per_call: float = Field(description="t_f: the original function's mean time per call (timed in the "
                                                "capture run, outside the capture work)")
    function_seconds: float = Field(description="T_f = n t_f")
    program_seconds: float = Field(description="the capture run's program time (capture work included)")
    swapped_at: str | None = Field(description="definition (the def bound the name) or first call")
    batch_points: dict[str, int] = Field(description="batch size -> batches, from batch_point calls")


class OutputErrorRow(BaseModel):
    name: str
    mae: float
    rmse: float
    max_abs: float
    relative: float | None = Field(description="mae / mean |y| on the validation set")


class Training(BaseModel):
    surrogate: str = Field(description="mlp:HIDDEN")
    widths: list[int]
    activation: str
    dtype: str
    parameters: int
    seed: int
    samples_train: int
    samples_validation: int
    epochs: int
    best_epoch: int
    stopped_early: bool
    seconds: float
    validation_loss: float = Field(description="MSE on normalised outputs")
    errors: list[OutputErrorRow]
    max_relative_error: float | None
    path: str = Field(description="the saved surrogate, a torch.export program (normalisation and schema inside)")


class DeviceSummary(BaseModel):
    device: str
    name: str
    threads: int | None
    cuda: str
    runtime: str = Field("eager", description="eager (nn.Sequential) or export (the torch.export program's "
                                              "module): how the program and the timing run the surrogate")
    clock: str = Field("wall clock", description="what the per-batch times were measured with: thread CPU time "
                                                 "(CPU, one thread) or wall clock")


class PredictionInfo(BaseModel):
    status: str = Field(description="ok, or unavailable (reason)")
    hardware: str | None = None
    dtype: str | None = None
    t_dispatch: float | None = None
    t_launch: float | None = None
    t_in_program: float | None = Field(None, description="t_prog: the profile's extra per forward inside a program "
                                                         "(cold caches, marshalling), used end to end only")


class BatchRow(BaseModel):
    batch: int
    measured_seconds: float = Field(description="median time of one forward of `batch` rows")
    measured_p25: float
    measured_p75: float
    measured_wall_seconds: float | None = Field(None, description="the wall-clock median of the same groups")
    measured_seconds_per_call: float
    predicted_seconds: float | None
    predicted_seconds_per_call: float | None
    bound: str | None
    error: float | None = Field(description="predicted / measured - 1")
    original_seconds_per_call: float = Field(description="t_f, for comparison")


class OutputChangeInfo(BaseModel):
    numbers: int = Field(description="numbers compared in the program's stdout")
    max_abs: float | None
    max_rel: float | None
    first_pairs: list[tuple[float, float]] = Field(description="(baseline, with surrogate), first 20")
    note: str = ""


class VariantRow(BaseModel):
    name: str = Field(description="surrogate: as the program calls it; surrogate-single: batch points one by one")
    batches: dict[str, int] = Field(description="batch size -> batches the surrogate answered")
    runs_seconds: list[float]
    seconds: float = Field(description="median program time with the surrogate")
    wall_seconds: float = Field(description="median process wall time (start-up and surrogate load included)")
    load_seconds: float = Field(description="importing torch and loading the surrogate, once per run (not in "
                                            "`seconds`)")
    calls_surrogate: int
    calls_original: int = Field(description="calls the original answered (first call, inputs that did not fit)")
    in_situ_seconds_per_call: float | None = Field(description="surrogate time per call inside the program, "
                                                               "marshalling included")
    measured_speedup: float
    predicted_seconds: float | None
    predicted_speedup: float | None
    speedup_error: float | None = Field(description="predicted / measured speedup - 1")
    kernel_composed_speedup: float = Field(description="the same composition with the measured per-batch times in "
                                                       "place of the predicted ones: isolates the kernel model")
    output_change: OutputChangeInfo


class EndToEnd(BaseModel):
    repeats: int
    calls: int = Field(description="n: calls of the function in a run")
    seconds_per_call: float = Field(description="t_f used by the prediction: function_share x baseline_seconds / "
                                                "calls (the share measured within each timed run, on the baseline's "
                                                "clock)")
    function_share: float = Field(description="the original function's share of the program's time: function "
                                              "seconds over program seconds within each timed run, median")
    timed_runs_seconds_per_call: list[float] = Field(description="t_f as each timed run measured it, for the record")
    baseline_seconds: float = Field(description="median program time of the baseline runs")
    baseline_runs: list[float]
    baseline_wall_seconds: float
    surrogate_seconds: float
    measured_speedup: float
    predicted_speedup: float | None
    variants: list[VariantRow]


class SweepRow(BaseModel):
    surrogate: str
    dtype: str
    batch: int
    measured_seconds: float
    predicted_seconds: float | None
    error: float | None
    validation_relative_error: float | None = None
    worker: str | None = None


class SweepSummary(BaseModel):
    scheduler: str
    workers: int
    trials: int
    seconds: float
    lock: str = Field(description="the distributed lock that keeps timed trials on one device from overlapping")
    rows: list[SweepRow]
    per_batch_median_error: float | None
    notes: list[str] = []


class BenchReport(BaseModel):
    schema_version: int = SCHEMA_VERSION
    tool_version: str
    created: str
    function: str
    argv: list[str]
    cwd: str
    seconds: float = Field(description="the whole bench run")
    device: DeviceSummary
    options: dict
    capture: CaptureSummary
    training: Training
    prediction: PredictionInfo
    per_batch: list[BatchRow]
    per_batch_median_error: float | None = Field(description="median over batches of |predicted/measured - 1|")
    end_to_end: EndToEnd | None
    end_to_end_error: float | None = Field(description="|predicted/measured speedup - 1| (as the program calls)")
    sweep: SweepSummary | None = None
    verdict: Literal["faster", "slower", "unchanged", "not measured"] = Field(
        description="measured end to end, as the program calls the function (not measured with --no-swap)")
    notes: list[str] = []


# ------------------------------------------------------------------------------------------------ rendering
def _fmt_s(v: float | None) -> str:
    if v is None:
        return "-"
    a = abs(v)
    if a >= 1:
        return f"{v:.3g} s"
    if a >= 1e-3:
        return f"{v * 1e3:.3g} ms"
    if a >= 1e-6:
        return f"{v * 1e6:.3g} us"
    return f"{v * 1e9:.3g} ns"


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v * 100:+.1f}%"


def render_terminal(report: BenchReport, console) -> None:
    from rich.table import Table

    c = report.capture
    t = report.training
    t_f = report.end_to_end.seconds_per_call if report.end_to_end else c.seconds_per_call
    console.print(f"[bold]{report.function}[/]  {c.calls} calls, t_f {_fmt_s(t_f)} per call; "
                  f"{c.samples} samples, {len(c.input_names)} inputs -> {len(c.output_names)} outputs"
                  + (f"; not inputs: {', '.join(s.name for s in c.skipped_inputs)}" if c.skipped_inputs else ""))
    console.print(f"surrogate {t.surrogate} {t.dtype}: {t.epochs} epochs (best {t.best_epoch}), validation "
                  f"relative error max {_pct(t.max_relative_error).lstrip('+')}, saved {t.path}")
    p = report.prediction
    console.print(f"device {report.device.device} ({report.device.name}, threads {report.device.threads}, "
                  f"{report.device.runtime}, {report.device.clock}); "
                  f"cuda {report.device.cuda}; prediction: "
                  + (f"{p.hardware} {p.dtype}" if p.status == "ok" else p.status))
    def table(title: str, columns: tuple[str, ...], left: tuple[str, ...]) -> Table:
        tab = Table(title=title, title_justify="left")
        for col in columns:
            tab.add_column(col, justify="left" if col in left else "right")
        return tab

    tab = table("time per batch: measured vs predicted",
                ("batch", "measured", "predicted", "error", "per call", "bound"), ("bound",))
    for r in report.per_batch:
        tab.add_row(str(r.batch), _fmt_s(r.measured_seconds), _fmt_s(r.predicted_seconds), _pct(r.error),
                    _fmt_s(r.measured_seconds_per_call), r.bound or "-")
    console.print(tab)
    e = report.end_to_end
    if e:
        tab = table(f"end to end (median of {e.repeats}; baseline {_fmt_s(e.baseline_seconds)})",
                    ("run", "batches", "seconds", "speedup", "predicted", "error", "output max rel change"),
                    ("run", "batches"))
        for v in e.variants:
            batches = ", ".join(f"{n}x{b}" for b, n in v.batches.items())
            tab.add_row(v.name, batches, _fmt_s(v.seconds), f"{v.measured_speedup:.3g}x",
                        f"{v.predicted_speedup:.3g}x" if v.predicted_speedup else "-", _pct(v.speedup_error),
                        f"{v.output_change.max_rel:.3g}" if v.output_change.max_rel is not None else "-")
        console.print(tab)
    sw = report.sweep
    if sw:
        tab = table(f"sweep: {sw.trials} trials on {sw.scheduler} ({sw.workers} workers), {sw.seconds:.0f} s",
                    ("surrogate", "dtype", "batch", "measured", "predicted", "error", "validation rel. error"),
                    ("surrogate", "dtype"))
        for r in sw.rows:
            tab.add_row(r.surrogate, r.dtype, str(r.batch), _fmt_s(r.measured_seconds), _fmt_s(r.predicted_seconds),
                        _pct(r.error), _pct(r.validation_relative_error).lstrip("+"))
        console.print(tab)
        for n in sw.notes:
            console.print(f"[dim]sweep note: {n}[/]")
    console.print(f"prediction error: per batch (median) {_pct(report.per_batch_median_error).lstrip('+')}, "
                  f"end to end {_pct(report.end_to_end_error).lstrip('+')}; verdict: {report.verdict}")
    for n in report.notes:
        console.print(f"[dim]note: {n}[/]")


def plot_png(report: BenchReport) -> bytes:
    from matplotlib.figure import Figure  # no pyplot: the caller's backend (a notebook's inline one) is left alone

    fig = Figure(figsize=(11, 4.2))
    ax, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    b = [r.batch for r in report.per_batch]
    m = [r.measured_seconds_per_call for r in report.per_batch]
    lo = [r.measured_p25 / r.batch for r in report.per_batch]
    hi = [r.measured_p75 / r.batch for r in report.per_batch]
    ax.errorbar(b, m, yerr=[[x - y for x, y in zip(m, lo)], [y - x for x, y in zip(m, hi)]], fmt="o",
                label="measured (median, p25-p75)", color="C0")
    pred = [(r.batch, r.predicted_seconds_per_call) for r in report.per_batch if r.predicted_seconds_per_call]
    if pred:
        ax.plot(*zip(*pred), "-", color="C1", label=f"predicted ({report.prediction.hardware})")
    ax.axhline(report.capture.seconds_per_call, color="C2", ls="--", label="original function t_f")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("batch size B")
    ax.set_ylabel("seconds per call, t_s(B)")
    ax.set_title("surrogate time per call")
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    e = report.end_to_end
    if e:
        labels, meas, preds = [], [], []
        for v in e.variants:
            labels.append(v.name)
            meas.append(v.measured_speedup)
            preds.append(v.predicted_speedup or 0.0)
        x = range(len(labels))
        ax2.bar([i - 0.2 for i in x], meas, 0.4, label="measured", color="C0")
        ax2.bar([i + 0.2 for i in x], preds, 0.4, label="predicted", color="C1")
        ax2.axhline(1.0, color="k", lw=0.8)
        rest = e.baseline_seconds - e.calls * e.seconds_per_call
        if rest > 0:
            ax2.axhline(e.baseline_seconds / rest, color="C2", ls="--", lw=1, label="Amdahl limit")
        ax2.set_xticks(list(x))
        ax2.set_xticklabels(labels, fontsize=8)
        ax2.set_ylabel("end-to-end speedup T / T'")
        ax2.set_title("end to end")
        ax2.legend(fontsize=8, loc="best", framealpha=0.9)
    else:
        ax2.axis("off")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


def render_html(report: BenchReport) -> str:
    esc = html.escape
    img = base64.b64encode(plot_png(report)).decode("ascii")
    c, t = report.capture, report.training
    rows = "".join(
        f"<tr><td>{r.batch}</td><td>{_fmt_s(r.measured_seconds)}</td><td>{_fmt_s(r.predicted_seconds)}</td>"
        f"<td>{_pct(r.error)}</td><td>{_fmt_s(r.measured_seconds_per_call)}</td>"
        f"<td>{_fmt_s(r.predicted_seconds_per_call)}</td><td>{esc(r.bound or '-')}</td></tr>"
        for r in report.per_batch)
    e2e = ""
    if report.end_to_end:
        e = report.end_to_end
        e2e = "".join(
            f"<tr><td>{esc(v.name)}</td><td>{esc(', '.join(f'{n}x{b}' for b, n in v.batches.items()))}</td>"
            f"<td>{_fmt_s(e.baseline_seconds)}</td><td>{_fmt_s(v.seconds)}</td><td>{v.measured_speedup:.3g}x</td>"
            f"<td>{(f'{v.predicted_speedup:.3g}x' if v.predicted_speedup else '-')}</td><td>{_pct(v.speedup_error)}"
            f"</td><td>{v.output_change.max_rel if v.output_change.max_rel is not None else '-'}</td></tr>"
            for v in e.variants)
    errs = "".join(f"<tr><td>{esc(o.name)}</td><td>{o.mae:.4g}</td><td>{o.rmse:.4g}</td><td>{o.max_abs:.4g}</td>"
                   f"<td>{_pct(o.relative).lstrip('+')}</td></tr>" for o in t.errors)
    skipped = "".join(f"<li><code>{esc(s.name)}</code>: {esc(s.reason)}</li>" for s in c.skipped_inputs)
    notes = "".join(f"<li>{esc(n)}</li>" for n in report.notes)
    sweep = ""
    if report.sweep:
        sw = report.sweep
        sweep = (f"<h2>Sweep</h2><p>{sw.trials} trials on {esc(sw.scheduler)} ({sw.workers} workers), "
                 f"{sw.seconds:.0f} s; timed trials serialised per device by the lock <code>{esc(sw.lock)}</code>.</p>"
                 "<table><tr><th>surrogate</th><th>dtype</th><th>batch</th><th>measured</th><th>predicted</th>"
                 "<th>error</th><th>validation rel. error</th></tr>" + "".join(
                     f"<tr><td>{esc(r.surrogate)}</td><td>{esc(r.dtype)}</td><td>{r.batch}</td>"
                     f"<td>{_fmt_s(r.measured_seconds)}</td><td>{_fmt_s(r.predicted_seconds)}</td>"
                     f"<td>{_pct(r.error)}</td><td>{_pct(r.validation_relative_error).lstrip('+')}</td></tr>"
                     for r in sw.rows) + "</table>")
    p = report.prediction
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>phasm-perf bench: {esc(report.function)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:70em}}table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:.25em .6em;text-align:right}}th{{background:#f3f3f3}}code{{background:#f5f5f5}}</style>
</head><body>
<h1>bench: <code>{esc(report.function)}</code></h1>
<p>{esc(' '.join(report.argv))} &middot; {esc(report.created)} &middot; device {esc(report.device.device)}
({esc(report.device.name)}, threads {report.device.threads}); CUDA {esc(report.device.cuda)} &middot;
prediction: {esc(f'{p.hardware} {p.dtype}' if p.status == 'ok' else p.status)}</p>
<p><b>Prediction error</b>: per batch (median) {_pct(report.per_batch_median_error).lstrip('+')},
end to end {_pct(report.end_to_end_error).lstrip('+')}. Measured verdict: <b>{report.verdict}</b>.</p>
<img alt="predicted vs measured" src="data:image/png;base64,{img}">
<h2>Capture</h2>
<p>{c.calls} calls, {c.samples} samples (budget {c.budget}); t_f = {_fmt_s(c.seconds_per_call)} per call;
inputs: {esc(', '.join(c.input_names))}; outputs: {esc(', '.join(c.output_names))}.</p>
{f'<p>Not surrogate inputs:</p><ul>{skipped}</ul>' if skipped else ''}
<h2>Training</h2>
<p>{esc(t.surrogate)} ({t.parameters} parameters, {esc(t.activation)}, {esc(t.dtype)}), {t.samples_train} train /
{t.samples_validation} validation samples, {t.epochs} epochs (best {t.best_epoch}), {t.seconds:.1f} s; saved to
<code>{esc(t.path)}</code>.</p>
<table><tr><th>output</th><th>MAE</th><th>RMSE</th><th>max abs</th><th>relative</th></tr>{errs}</table>
<h2>Time per batch</h2>
<table><tr><th>batch</th><th>measured</th><th>predicted</th><th>error</th><th>measured / call</th>
<th>predicted / call</th><th>bound</th></tr>{rows}</table>
<h2>End to end</h2>
<table><tr><th>run</th><th>batches</th><th>baseline</th><th>with surrogate</th><th>measured speedup</th>
<th>predicted speedup</th><th>error</th><th>output max rel change</th></tr>{e2e}</table>
{sweep}
{f'<h2>Notes</h2><ul>{notes}</ul>' if notes else ''}
</body></html>
"""
