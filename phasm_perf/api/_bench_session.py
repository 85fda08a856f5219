"""``phasm-perf bench`` as the command line runs it: checked and opened before any program runs
(:func:`open_bench`), then run under the caller's progress bar (:meth:`BenchSession.run`: bench, Python or
native, and the ``--sweep``), then kept (:meth:`BenchSession.keep`: bench.json, bench.html, the files asked for,
the MLflow run)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from ..collect.program import Target
from ..core.errors import PhasmError
from ..core.output import check_output, write_output
from ..track import Tracker, Tracking, TrackingError
from ._bench import bench_native
from ._tracking import open_tracking, sweep_point, track_bench


@dataclass
class BenchSession:
    """One bench run's settings and tracker (:func:`open_bench` makes it)."""

    target: Target
    function: str
    opts: object  # phasm_perf.bench.run.BenchOptions
    out_dir: Path
    sweep: object | None  # phasm_perf.bench.sweep.SweepOptions, or None: no --sweep
    native: dict  # bench_native's vars_calls, inputs, outputs (a compiled program)
    tracker: Tracker | None
    tracking_error: TrackingError | None  # met while opening the store: raised once the results are written
    on_status: Callable[[str], None]
    points: list = field(default_factory=list)  # the sweep's points, for tracking

    def run(self, on_progress=None):
        """Bench the function (a compiled one with the native runtime), then the sweep around its surrogate; the
        :class:`~phasm_perf.bench.report.BenchReport`."""
        if self.target.kind == "native":
            report = bench_native(self.target, self.function, self.opts, self.out_dir, **self.native,
                                  on_status=self.on_status, on_progress=on_progress)
        else:
            from ..bench.run import bench

            report = bench(self.target, self.function, self.opts, self.out_dir, on_status=self.on_status,
                           on_progress=on_progress)
        if self.sweep is not None:
            from ..bench.sweep import run_sweep

            self.sweep.device, self.sweep.threads = report.device.device, report.device.threads
            report.sweep = run_sweep(Path(report.training.path), self.sweep, on_status=self.on_status,
                                     on_point=lambda *p: self.points.append(sweep_point(*p)))
        return report

    def keep(self, report, output: str | None = None, html: str | None = None) -> TrackingError | None:
        """Write bench.json and bench.html into the run's folder (and to ``output``, ``html``), and track the run;
        the tracking error to raise once the caller has shown the report, if any."""
        from ..report.bench import render_html

        text = report.model_dump_json(indent=2) + "\n"
        write_output(text, str(self.out_dir / "bench.json"))
        write_output(render_html(report), str(self.out_dir / "bench.html"))
        if output:
            write_output(text, output)
        if html:
            write_output(render_html(report), html)
        self.on_status(f"kept {self.out_dir}/surrogate.pt2, bench.json, bench.html")
        if self.tracker is None:
            return self.tracking_error
        try:
            logged = track_bench(report, self.out_dir, self.tracker, self.points)
            self.on_status(f"tracked: run {logged.run_id} in {self.tracker.uri} "
                           f"(experiment {self.tracker.experiment!r})")
        except TrackingError as exc:
            return exc
        return self.tracking_error


def open_bench(target: Target, function: str, options: dict, out_dir: str | os.PathLike, *,
               also: Sequence[str | None] = (), sweep: dict | None = None, native: dict | None = None,
               tracking: Tracking | None = None, store: str | os.PathLike | None = None,
               on_status: Callable[[str], None] | None = None) -> BenchSession:
    """Check everything a bench run needs before the program runs (PyTorch, the output folder and files ``also``,
    Dask and its scheduler for a ``sweep``) and open its tracking store (default: in ``store``, else
    ``out_dir``). ``options`` as :class:`phasm_perf.bench.run.BenchOptions`; ``sweep`` the
    :class:`phasm_perf.bench.sweep.SweepOptions` that are not the bench's own (``surrogates``, ``dtypes``,
    ``train``, ``scheduler``, ``workers``); ``native``: ``vars_calls``, ``inputs``, ``outputs`` for a compiled
    program."""
    status = on_status or (lambda m: None)
    try:
        import torch  # noqa: F401  (the `bench` extra)
    except ImportError:
        raise PhasmError("bench needs PyTorch: pip install 'phasm-perf[bench]'") from None
    from ..bench.run import BenchOptions

    opts = BenchOptions(**options)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise PhasmError(f"--out {str(out_dir)!r} is a file; give a folder")
    for dest in also:
        check_output(dest)
    sweep_opts = _sweep_options(opts, sweep) if sweep is not None else None
    if target.kind == "native" and sweep_opts is not None:
        raise PhasmError("--sweep is for Python functions; a compiled one is benched with the native runtime")
    tracker, error = open_tracking(tracking or Tracking(), Path(store or out_dir), status)
    return BenchSession(target, function, opts, out_dir, sweep_opts, dict(native or {}), tracker, error, status)


def _sweep_options(opts, sweep: dict):
    """The sweep's options: its own (``sweep``) and those it shares with the bench run (``opts``); the scheduler
    checked (reachable, Dask installed)."""
    from ..bench.sweep import SweepOptions, check_scheduler

    sweep_opts = SweepOptions(**sweep, batches=opts.batches, hardware=opts.hardware, repeats=opts.timing_repeats,
                              epochs=min(opts.epochs, 200), seed=opts.seed, runtime=opts.runtime)
    check_scheduler(sweep_opts)
    return sweep_opts
