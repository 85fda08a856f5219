"""Checking the prediction: variable discovery and bench (Python and compiled programs)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from ..collect.program import Target, resolve_target
from ..core.output import write_output
from ..track import Tracking
from ._tracking import open_tracking, track_bench

if TYPE_CHECKING:
    import pandas as pd


def bench(prog: str, args: Sequence[str] = (), function: str = "", out: str | os.PathLike = "bench.out",
          tracking: Tracking | None = None, **options):
    """``phasm-perf bench``: capture ``function`` (``MODULE:QUALNAME``) in ``prog args``, train, time, swap it in;
    ``options`` as :class:`phasm_perf.bench.run.BenchOptions`. Returns the :class:`~phasm_perf.bench.report.BenchReport`
    (the surrogate, the sample, bench.json and bench.html are kept in ``out``). The run is tracked in MLflow
    (``tracking``, default: the sqlite store in ``out``; ``Tracking(enabled=False)`` turns it off)."""
    from ..bench.run import BenchOptions, bench as _bench
    from ..report.bench import render_html

    tracking = tracking or Tracking()
    tracker, error = open_tracking(tracking, out)
    report = _bench(resolve_target(prog, args), function, BenchOptions(**options), out)
    text = report.model_dump_json(indent=2) + "\n"
    write_output(text, str(Path(out) / "bench.json"))
    write_output(render_html(report), str(Path(out) / "bench.html"))
    if error is not None:
        raise error.kept(f"{out}/")
    if tracker is not None:
        track_bench(report, out, tracker)
    return report


def vars(prog: str | Target, args: Sequence[str] = (), function: str = "", *, calls: int = 64,
         event_loop: str | None = None, timeout: float | None = None, as_command: bool = False):
    """``phasm-perf vars`` for a Python program: run ``prog args`` (or a :class:`Target`) and observe ``function``
    (``MODULE:QUALNAME``) over a sample of its calls; returns its :class:`~phasm_perf.discover.schema.VarsReport`
    (inputs, outputs, batching). A crash of the program raises
    :class:`~phasm_perf.discover.python.ObservationFailed` carrying what was observed. (:func:`vars_native` for a
    compiled program.)"""
    from ..discover.python import discover

    if not isinstance(prog, Target):
        if as_command and prog.endswith(".py") and os.path.isfile(prog):
            as_command = False  # `-- prog.py ARGS`: a script, run with this Python
        prog = resolve_target(prog, args, as_command=as_command)
    return discover(prog, function, calls=calls, event_loop=event_loop, timeout=timeout)


def largest_batch(report) -> int | None:
    """The largest batch the program can form as it stands (1: its calls depend on each other)."""
    from ..discover import largest_batch as _largest

    return _largest(report)


def bench_frame(report) -> pd.DataFrame:
    """A bench report's per-batch table (measured and predicted seconds, error) as a DataFrame indexed by batch."""
    import pandas as pd  # start-up time (see phasm_perf/api/__init__.py)

    return pd.DataFrame([r.model_dump() for r in report.per_batch]).set_index("batch")


def vars_native(target, function: str, **options):
    """``phasm-perf vars`` for a compiled function: a :class:`~phasm_perf.discover.schema.VarsReport`."""
    from ..discover.native import NativeVarsOptions, discover  # frida and pyelftools: the `native` extra
    return discover(target, function, NativeVarsOptions(**options))


def bench_native(target, function: str, opts, out: str | os.PathLike = "bench.out", *, vars_calls: int = 10,
                 inputs: Sequence[str] = (), outputs: Sequence[str] = (), on_status=None, on_progress=None):
    """``phasm-perf bench`` on a compiled function: discover, capture, train, time the native runtime, swap it into
    the unmodified binary. ``opts``: :class:`phasm_perf.bench.run.BenchOptions`. The ``local`` profile gets its
    native runtime costs measured the first time (``hw measure`` measures them too)."""
    from ..bench.native.run import NativeExtras, bench_native as _bench_native

    if opts.hardware == "local":
        ensure_native_costs(on_status)
    return _bench_native(target, function, opts, out, NativeExtras(vars_calls, tuple(inputs), tuple(outputs)),
                         on_status=on_status, on_progress=on_progress)


def ensure_native_costs(on_status=None, path: str | os.PathLike | None = None, force: bool = False):
    """The local hardware profile with its native runtime costs (measured and saved when it has none)."""
    from ..bench.native.measure import measure_native
    from ..core.output import write_output
    from ..hardware import local_path
    from ..hardware.profile import dump, load_file
    from ..predict import profile_of

    dest = Path(path) if path else local_path()
    prof = load_file(dest) if dest.is_file() else profile_of("local", on_status=on_status)
    if prof.native is not None and not force:
        return prof
    if on_status:
        on_status("measuring the native runtime's in-program costs (once; hw measure does it too)")
    native, raw = measure_native(on_status)
    measured = dict(prof.measured or {}, native=raw)
    prof = prof.model_copy(update={"native": native, "measured": measured})
    write_output(dump(prof), dest)
    return prof
