"""The roofline plot (matplotlib): the device's roofs, and each surrogate placed at its batch sizes.

x: arithmetic intensity (FLOPs per byte), y: attainable FLOP/s. One diagonal roof per memory level, one flat roof
for the dtype's peak. A surrogate at batch B sits at its whole-forward intensity and its predicted FLOP/s; points
far below the roofs are latency-bound (launch and dispatch costs, not the roofs, set their time). PyTorch operators
measured by ``--torch-profiler`` sit at their achieved FLOP/s (:func:`place_operators`).

Text from profiles (function, operator and memory-level names) goes through :func:`literal`: matplotlib reads
``$...$`` as mathtext, which would typeset a name or fail on it. In the SVG, text is drawn as paths and repeated
in XML comments that matplotlib escapes (``<``, ``>``, ``&``, and ``--``): no name can become markup.
"""

from __future__ import annotations

import io
from typing import Sequence

from ..collect.torch_ops import OperatorPoint
from ..core.units import fmt_bandwidth, fmt_flops
from ..hardware import HardwareProfile
from ..model.surrogate import BatchPrediction


def literal(text: str) -> str:
    """``text`` as matplotlib draws it literally: every ``$`` escaped (no mathtext)."""
    return text.replace("$", r"\$")


def roofline_axes(ax, profile: HardwareProfile, dtype: str = "fp32", x_range=(1e-2, 1e4)) -> None:
    """Draw ``profile``'s roofs for ``dtype`` on matplotlib axes ``ax`` (log-log)."""
    import numpy as np

    dev = profile.device(dtype)
    xs = np.logspace(np.log10(x_range[0]), np.log10(x_range[1]), 200)
    for lvl in dev.levels:
        ax.plot(xs, np.minimum(dev.peak, xs * lvl.bandwidth), lw=1.2,
                label=literal(f"{lvl.name} {fmt_bandwidth(lvl.bandwidth)}"))
    ax.axhline(dev.peak, color="k", lw=0.8, ls="--", label=f"{dtype} peak {fmt_flops(dev.peak)}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (FLOP/byte)")
    ax.set_ylabel("FLOP/s")
    ax.grid(True, which="both", alpha=0.25)


def place_surrogate(ax, predictions: Sequence[BatchPrediction], label: str, annotate: bool = True) -> None:
    """Each batch of one surrogate as a point (intensity, predicted FLOP/s), joined in batch order."""
    pts = sorted(predictions, key=lambda p: p.batch)
    xs = [p.intensity for p in pts]
    ys = [p.flops_per_second for p in pts]
    line, = ax.plot(xs, ys, marker="o", ms=3, lw=0.8, label=literal(label))
    if annotate:
        for p in (pts[0], pts[len(pts) // 2], pts[-1]):
            ax.annotate(f"B={p.batch}", (p.intensity, p.flops_per_second), fontsize=7, color=line.get_color(),
                        xytext=(3, 3), textcoords="offset points")


def place_operators(ax, points: Sequence[OperatorPoint]) -> None:
    """Draw operator points (achieved FLOP/s at their intensity) on roofline axes."""
    if not points:
        return
    ax.scatter([p.intensity for p in points], [p.flops_per_second for p in points], marker="s", s=18,
               color="tab:red", zorder=5, label="PyTorch operators (measured)")
    for p in points:
        ax.annotate(literal(p.name.replace("aten::", "")), (p.intensity, p.flops_per_second), fontsize=7,
                    color="tab:red", xytext=(3, -9), textcoords="offset points")


def roofline_figure(profile: HardwareProfile, series: dict[str, Sequence[BatchPrediction]], dtype: str = "fp32",
                    title: str | None = None):
    """A matplotlib Figure: the roofs of ``profile`` and one line per entry of ``series`` (label -> sweep)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 5), dpi=100)
    ax = fig.add_subplot()
    lo = min((p.intensity for s in series.values() for p in s), default=0.1)
    hi = max((p.intensity for s in series.values() for p in s), default=100.0)
    ridge = profile.device(dtype).peak / profile.main_memory().bandwidth
    roofline_axes(ax, profile, dtype, (min(lo, 0.1) / 2, max(hi, ridge) * 4))
    for label, preds in series.items():
        place_surrogate(ax, preds, label)
    ax.set_title(literal(title or f"Roofline of {profile.name} ({dtype})"))
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def figure_svg(fig) -> str:
    """The figure as inline SVG text (text drawn as paths: no font or name can break the page)."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": "phasm-perf"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    return text[text.index("<svg"):]
