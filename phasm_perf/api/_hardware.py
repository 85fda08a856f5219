"""Predicting before training: hardware profiles, the model over a batch sweep, the roofline."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    import pandas as pd


def hardware(name: str = "local"):
    """A hardware profile by name (``phasm-perf hw list``), ``local`` (measured the first time) or YAML path."""
    from ..hardware import resolve

    return resolve(name)


def measure_hardware(out: str | os.PathLike | None = None, quick: bool = False, threads: int | None = None,
                     device: str = "cpu", runtimes: Sequence[str] | None = None):
    """``phasm-perf hw measure``: this machine's profile, written to ``out`` (default: the ``local`` profile's place)
    and returned. ``threads=1`` gives the most repeatable figures on a shared machine; ``quick`` takes seconds;
    ``runtimes`` which runtimes' costs to measure (default eager, inference, functional, export)."""
    from ..hardware import local_path
    from ..hardware.measure import DEFAULT_RUNTIMES, MeasureOptions, measure_and_save

    opts = MeasureOptions(quick=quick, threads=threads, device=device,
                          runtimes=tuple(runtimes) if runtimes else DEFAULT_RUNTIMES)
    return measure_and_save(out or local_path(), opts)


def hardware_names() -> list[str]:
    """The shipped profile names."""
    from ..hardware import available

    return sorted(available())


def hardware_frame(names: Sequence[str] | None = None) -> pd.DataFrame:
    """Profiles side by side: peak FLOP/s per dtype, main-memory bandwidth, link, launch and dispatch costs."""
    import pandas as pd  # start-up time (see phasm_perf/api/__init__.py)

    from ..hardware import load
    from ..model.spec import DTYPES

    rows = []
    for n in names or hardware_names():
        p = load(n) if isinstance(n, str) else n
        row = {"name": p.name, "kind": p.kind}
        row.update({f"peak_{d}": (p.peak_flops[d].value if d in p.peak_flops else None) for d in DTYPES})
        row.update({"memory_bandwidth": p.main_memory().bandwidth,
                    "link_bandwidth": p.link.bandwidth if p.link else None,
                    "launch_latency": p.launch_latency.value, "dispatch": p.dispatch.value})
        rows.append(row)
    return pd.DataFrame(rows).set_index("name")


def predict(hardware: str = "local", inputs: int = 8, outputs: int = 8, surrogate: str = "mlp:64x64",
            batches: Sequence[int] | None = None, dtype: str = "fp32", runtime: str = "eager",
            activation: str = "relu") -> pd.DataFrame:
    """The model over a batch sweep as a DataFrame (one row per batch: time per batch and per call, bound,
    utilisation, and the compute/memory/link/latency terms), for the surrogate run by ``runtime``."""
    import pandas as pd  # start-up time (see phasm_perf/api/__init__.py)

    from ..predict import predict_report

    rep = predict_report(hardware, inputs, outputs, surrogate, batches, dtype, runtime, activation)
    df = pd.DataFrame([r.model_dump(exclude={"speedup", "kernel_speedup"}) for r in rep.per_batch])
    df.insert(0, "hardware", rep.hardware)
    return df.set_index(["hardware", "batch"])


def break_even(seconds_per_call: float, hardware: str = "local", inputs: int = 8, outputs: int = 8,
               surrogate: str = "mlp:64x64", batches: Sequence[int] | None = None, dtype: str = "fp32") -> int | None:
    """The smallest batch at which the surrogate beats ``seconds_per_call``; None: never."""
    from ..model.surrogate import break_even_batch
    from ..predict import predict_sweep

    return break_even_batch(seconds_per_call, predict_sweep(hardware, inputs, outputs, surrogate, dtype, batches))


def roofline_figure(hardware: str = "local", series: dict | None = None, dtype: str = "fp32"):
    """A matplotlib Figure of the device's roofs; ``series`` maps a label to ``(inputs, outputs, surrogate,
    batches)`` and places that surrogate at each batch size."""
    from ..predict import predict_sweep, profile_of
    from ..report.roofline_plot import roofline_figure as _figure

    prof = profile_of(hardware)
    sweeps = {label: predict_sweep(prof, i, o, s, dtype, b) for label, (i, o, s, b) in (series or {}).items()}
    return _figure(prof, sweeps, dtype)
