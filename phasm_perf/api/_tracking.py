"""Experiment tracking (MLflow) around a run: opening the store, logging bench runs, reading runs back."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from ..core.output import write_output
from ..track import Logged, Tracker, Tracking, TrackingError, open_tracker

if TYPE_CHECKING:
    import pandas as pd


def open_tracking(tracking: Tracking, folder: str | os.PathLike,
                  on_status=None) -> tuple[Tracker | None, TrackingError | None]:
    """The tracker for a run whose store (by default) lives in ``folder``, opened before the run so that an
    unreachable server is known at once: ``(tracker, None)``, ``(None, None)`` when tracking is off (or MLflow is
    not installed and no store was asked for: a status line says so), or ``(None, error)`` to raise once the
    run's results are written."""
    status = on_status or (lambda m: None)
    try:
        tracker = open_tracker(tracking, folder)
    except TrackingError as exc:
        if "needs MLflow" in str(exc) and tracking.uri is None and not os.environ.get("MLFLOW_TRACKING_URI"):
            status("tracking off: MLflow is not installed (pip install 'phasm-perf[track]')")
            return None, None
        if exc.usage:
            raise
        status(f"not tracked: {exc}")
        return None, exc
    return tracker, None


def sweep_point(surrogate: str, dtype: str, rows: list, built: dict):
    """A ``--sweep`` point as :func:`phasm_perf.bench.sweep.run_sweep` hands it over, kept for tracking."""
    from ..track.records import SweepPoint

    return SweepPoint(surrogate=surrogate, dtype=dtype, rows=list(rows), model_bytes=built.get("bytes"),
                      trained=built.get("relative") is not None)


def track_bench(report, out_dir: str | os.PathLike, tracker: Tracker, points: Sequence = ()) -> Logged:
    """Log a bench run (its sweep points as child runs) with its files in ``out_dir`` and the surrogate as an
    MLflow model; the plot is written to ``out_dir/bench.png`` for it."""
    from ..report.bench import plot_png
    from ..track.records import bench_record

    out_dir = Path(out_dir)
    write_output(plot_png(report), str(out_dir / "bench.png"))
    return tracker.log(bench_record(report, out_dir, list(points)))


def tracked_runs(store: str | os.PathLike, experiment: str | None = None) -> pd.DataFrame:
    """The runs of a tracking store as a DataFrame (``mlflow.search_runs``: one row per run, ``params.*``,
    ``metrics.*`` and ``tags.*`` columns). ``store``: a URI, or a folder holding the default ``mlflow.db``."""
    from ..track import DEFAULT_EXPERIMENT, default_uri
    from ..track.mlflow import runs_frame

    uri = str(store) if "://" in str(store) else default_uri(store)
    return runs_frame(uri, experiment or DEFAULT_EXPERIMENT)
