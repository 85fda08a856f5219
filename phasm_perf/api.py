"""The Python API that the command line and the notebooks share.

    >>> from phasm_perf import api
    >>> bundle = api.profile("examples/particles.py", ["--steps", "200"], "out.phasm")   # doctest: +SKIP
    >>> report = api.rank(bundle)                                                       # doctest: +SKIP
    >>> api.candidates_frame(report)                                                    # doctest: +SKIP
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from .calltree.readers import Profile, read_profile
from .collect.program import Target, resolve_target
from .collect.run import CountTarget, ProfileOptions, profile as _profile
from .core.errors import ProgramFailed, ProgramInterrupted, TooFewSamples
from .core.output import write_output
from .track import Logged, Tracker, Tracking, TrackingError, open_tracker

# The analysis (the call tree, the candidates, the report) needs pandas, half a second or more to import: the
# functions below import it when they run, not at the top, so that `phasm-perf --help` and the start of a profiled
# program do not wait for it (start-up time, ARCHITECTURE.md); :func:`profile` imports it in the background while
# the program runs.
if TYPE_CHECKING:
    import pandas as pd

    from .core.bundle import Bundle  # pydantic (the bundle's types): imported where used (start-up time)

    from .calltree.tree import CallTree
    from .report import RankReport

#: what the analysis after a profile run imports (warmed up while the program runs)
ANALYSIS_MODULES = ("phasm_perf.core.bundle", "phasm_perf.report.schema", "pandas", "phasm_perf.calltree.tree",
                    "phasm_perf.candidates", "phasm_perf.report.ranking", "phasm_perf.report.render")


def _warm_up() -> None:
    """Import the analysis in a background thread while the program runs, so that it is ready when the program
    ends. At the normal priority: a thread at a lower one, still importing when the program ended on a busy
    machine, held the import lock the analysis then waited for (seconds, on a 1-second program)."""
    def work() -> None:
        import importlib

        for name in ANALYSIS_MODULES:
            try:
                importlib.import_module(name)
            except Exception:  # the main thread imports it again and reports any real error
                return

    threading.Thread(target=work, name="phasm-perf-warm-up", daemon=True).start()


def profile(prog: str | Target, args: Sequence[str] = (), out: str | os.PathLike = "out.phasm",
            on_status=None, **options) -> Bundle:
    """Run ``prog args`` under the default collector and write a bundle to ``out``; the counting pass counts the
    calls of the top candidates (``count_top``) chosen by the same filters as :func:`rank`."""
    target = prog if isinstance(prog, Target) else resolve_target(prog, args)
    given = {k: options.pop(k, None) for k in ("event_loop", "min_fraction", "count_top")}
    return _profile(target, out, ProfileOptions(analysis_given=given, **options), on_status=on_status,
                    choose=counting_targets, on_started=_warm_up)


def counting_targets(samples: Profile, target: Target, options: ProfileOptions) -> list[CountTarget]:
    """The functions a counting pass counts (compiled programs: a Python program's calls are all counted in the
    sampled run itself): the top ``count_top`` candidates inside the event loop (named, or found from the stacks),
    and the frames that might be the loop (those holding most of the run), so that the ranking can find it with
    exact counts."""
    from .candidates import SelectOptions, select  # pandas: start-up time (see the top of this module)
    from .candidates.loop import HOLDS

    roots = (str(target.program.parent),) if target.program else ()
    a = options.analysis
    sel = select(samples.tree(), SelectOptions(event_loop=a.event_loop, min_fraction=a.min_fraction, user_roots=roots))
    top = sel.candidates.head(a.count_top)
    chosen = [(key, file, name) for key, file, name in zip(top["function"], top["file"], top["name"]) if file]
    table = sel.table
    total = sel.total_seconds
    if not a.event_loop and total > 0:
        drivers = table[(table["incl"] / total >= HOLDS) & table["excluded"].isin(["", "event loop", "tower",
                                                                                   "whole run"])]
        chosen += [(k, f, n) for k, f, n in zip(drivers["function"], drivers["file"], drivers["name"])
                   if isinstance(f, str) and f and k not in {c[0] for c in chosen}]
    return chosen


def check_outcome(bundle: Bundle, interval: float | None = None) -> None:
    """Raise the one-line error a bundle's status calls for (after the caller has shown what it can)."""
    m = bundle.meta
    interval = interval or m.collector.interval_seconds or 0.001
    where = f"its profile is kept in {bundle.path} (status {m.status})"
    if m.status == "interrupted":
        what = f"signal {m.signal}" if m.signal else "interrupted"
        raise ProgramInterrupted(f"profiling was interrupted ({what}); {where}")
    if m.status == "failed":
        tail = _stderr_tail(bundle.path)
        raise ProgramFailed(f"the program exited with status {m.exit_status}; {where}{tail}")
    if not _saw_user_code(bundle):
        raise TooFewSamples(
            f"the program ran for {m.wall_seconds:.3f} s and no sample landed in its own code (only start-up): "
            f"too short to profile at {interval * 1e3:g} ms intervals; give it more work (a larger input, more "
            f"steps); its profile is kept in {bundle.path}")


def _saw_user_code(bundle: Bundle) -> bool:
    if not bundle.on_cpu and not bundle.off_cpu:
        return False
    if bundle.meta.collector.name not in ("austin", "py-spy"):
        return True
    from .report import selection_of  # pandas: start-up time (see the top of this module)

    table = selection_of(bundle).table
    return bool((table["excluded"].isin(["", "tiny", "tower"]) & (table["incl"] > 0)).any())


def _stderr_tail(path: Path) -> str:
    f = Path(path) / "stderr.txt"
    try:
        lines = [ln for ln in f.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    return f"; last line of its stderr: {lines[-1].strip()[:200]}" if lines else ""


def load_profile(path: str | os.PathLike, fmt: str | None = None, force: bool = False, **options) -> Bundle:
    """A bundle directory, or a profile file in any format phasm-perf reads (detected from its content unless
    ``fmt`` names it: see :data:`phasm_perf.calltree.readers.FORMATS`), as a :class:`Bundle`. Damaged input is one
    :class:`~phasm_perf.core.errors.PhasmError`; ``force`` reads what can be read (the notes say what was
    skipped)."""
    from .core.bundle import load_bundle  # pydantic: start-up time (see the top of this module)

    p = Path(path)
    if p.is_dir():
        return load_bundle(p, force=force)
    return bundle_from_profile(read_profile(p, fmt, force=force, **options), p)


def bundle_from_profile(profile: Profile, path: str | os.PathLike) -> Bundle:
    """Wrap a profile file's stacks as an in-memory :class:`Bundle` (nothing is written)."""
    from .core.bundle import Bundle, CallCount, CollectorInfo, CountsInfo, Meta  # start-up time (see the top)

    if profile.calls:
        counts = CountsInfo(status=f"exact ({profile.format})", method=profile.format,
                            functions=[CallCount(function=k, calls=n) for k, n in profile.calls.items()])
    else:
        counts = CountsInfo(status=f"unavailable (a {profile.format} profile has no call counts)")
    meta = Meta(tool_version="", argv=[], cwd=os.getcwd(), kind="other", start_time="", wall_seconds=0.0,
                exit_status=None, status="complete",
                collector=CollectorInfo(name=profile.format, off_cpu=profile.off_cpu_known),
                weight_unit=profile.weight_unit, seconds_per_unit=profile.seconds_per_unit,
                samples=profile.samples or int(profile.total_weight), threads=profile.threads, counts=counts, notes=list(profile.notes))
    return Bundle(Path(path), meta, profile.on_cpu, profile.off_cpu)


def load(path: str | os.PathLike) -> Bundle:
    return load_profile(path)


def rank(source: Bundle | str | os.PathLike, hardware: str | None = None, surrogate: str = "mlp:64x64",
         dtype: str = "fp32", batches: Sequence[int] | None = None, inputs: int | None = None,
         outputs: int | None = None, on_status=None, runtime: str = "eager", activation: str = "relu",
         independent: int | None = None, target: Target | None = None, observe: int = 0,
         **options) -> RankReport:
    """Rank the candidates of a bundle (or a bundle path or profile file); ``options`` as :class:`RankOptions`.
    With ``hardware`` (a profile name, ``local`` or a YAML path) each candidate also gets its prediction for a
    ``surrogate`` of ``dtype`` over ``batches`` (default: a sweep), with the inputs and outputs counted in the
    first real calls unless ``inputs`` and ``outputs`` say, run by ``runtime`` (``phasm_perf.model.spec.RUNTIMES``),
    in batches of at most ``independent`` calls when the program can batch only that many. ``observe``: how many
    of the top compute candidates of the Python program ``target`` (the bundle's program) to observe with ``vars``
    first (one run of it each): their sizes and the batch the program can form then shape their predictions."""
    from .core.bundle import Bundle
    from .report import RankOptions, build_report  # pandas: start-up time (see the top of this module)

    bundle = source if isinstance(source, Bundle) else load_profile(source)
    report = build_report(bundle, RankOptions(**options))
    if hardware is None:
        return report
    from .predict import captured_io, profile_of
    from .report.predictions import PredictOptions, attach_predictions

    prof = profile_of(hardware, on_status=on_status)
    opts = PredictOptions(hardware=hardware, surrogate=surrogate, dtype=dtype,
                          batches=tuple(batches) if batches else None, inputs=inputs, outputs=outputs,
                          runtime=runtime, activation=activation, independent=independent)
    captured, notes = captured_io(bundle), []
    if observe and target is not None:
        from .discover.python import discover
        from .report.observed import observe as _observe

        if on_status:
            on_status(f"observing the top {observe} candidate(s) with vars (one run of the program each)")
        found, notes = _observe(target, report, observe, lambda t, fn: discover(t, fn, calls=32))
        captured.update(found)
    report = attach_predictions(report, captured, opts, prof)
    return report.model_copy(update={"notes": report.notes + notes}) if notes else report


def rank_html(report: "RankReport", hardware: str | None = None) -> str:
    """``rank --html``: the ranking, its predictions and a roofline plot as one self-contained HTML page."""
    from .predict import profile_of
    from .report.rank_html import render_html

    return render_html(report, profile_of(hardware) if hardware else None)


def call_tree(source: Bundle | str | os.PathLike) -> CallTree:
    from .calltree.tree import CallTree  # pandas: start-up time (see the top of this module)
    from .core.bundle import Bundle

    bundle = source if isinstance(source, Bundle) else load_profile(source)
    return CallTree(bundle.on_cpu, bundle.off_cpu, bundle.meta.seconds_per_unit)


def flamegraph(source: Bundle | str | os.PathLike, fmt: str = "html", other: Bundle | str | os.PathLike | None = None,
               input_format: str | None = None, view: str = "both", min_width: float = 1e-4,
               candidates: bool | None = None, tree: CallTree | None = None, lines: bool = False,
               force: bool = False, **rank_options) -> tuple[str, list[str]]:
    """A flame graph of ``source`` (against ``other`` for a differential view) as text, and the notes to show.
    ``tree``: ``call_tree(source)`` if already built (its tables are reused); ``rank_options`` (as
    :class:`RankOptions`: ``event_loop``, ``min_fraction``) choose the candidates highlighted; ``candidates=None``
    ranks them unless the profile has more distinct stacks than :data:`~phasm_perf.report.flamegraph.RANK_LIMIT`.
    A frame is a function; ``lines``: a frame per source line."""
    from .core.bundle import Bundle
    from .report import RankOptions
    from .report.flamegraph import render_flamegraph

    bundle = source if isinstance(source, Bundle) else load_profile(source, input_format, force=force)
    base = None
    if other is not None:
        base = other if isinstance(other, Bundle) else load_profile(other, input_format, force=force)
    text, notes = render_flamegraph(bundle, fmt, other=base, view=view, min_width=min_width, highlight=candidates,
                                    tree=tree, rank_options=RankOptions(**rank_options), lines=lines)
    return text, list(bundle.meta.notes) + notes


def candidates_frame(report: RankReport) -> pd.DataFrame:
    """The ranked candidates as a DataFrame (one row each, the JSON fields as columns)."""
    import pandas as pd  # start-up time (see the top of this module)

    rows = [c.model_dump(exclude={"predicted"}) for c in report.candidates]
    return pd.DataFrame(rows).set_index("rank") if rows else pd.DataFrame()


# ----------------------------------------------------------------------------------- predict before training
def hardware(name: str = "local"):
    """A hardware profile by name (``phasm-perf hw list``), ``local`` (measured the first time) or YAML path."""
    from .hardware import resolve

    return resolve(name)


def measure_hardware(out: str | os.PathLike | None = None, quick: bool = False, threads: int | None = None,
                     device: str = "cpu", runtimes: Sequence[str] | None = None):
    """``phasm-perf hw measure``: this machine's profile, written to ``out`` (default: the ``local`` profile's place)
    and returned. ``threads=1`` gives the most repeatable figures on a shared machine; ``quick`` takes seconds;
    ``runtimes`` which runtimes' costs to measure (default eager, inference, functional, export)."""
    from .hardware import local_path
    from .hardware.measure import DEFAULT_RUNTIMES, MeasureOptions, measure_and_save

    opts = MeasureOptions(quick=quick, threads=threads, device=device,
                          runtimes=tuple(runtimes) if runtimes else DEFAULT_RUNTIMES)
    return measure_and_save(out or local_path(), opts)


def hardware_names() -> list[str]:
    """The shipped profile names."""
    from .hardware import available

    return sorted(available())


def hardware_frame(names: Sequence[str] | None = None) -> pd.DataFrame:
    """Profiles side by side: peak FLOP/s per dtype, main-memory bandwidth, link, launch and dispatch costs."""
    import pandas as pd  # start-up time (see the top of this module)

    from .hardware import load
    from .model.spec import DTYPES

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
    import pandas as pd  # start-up time (see the top of this module)

    from .predict import predict_report

    rep = predict_report(hardware, inputs, outputs, surrogate, batches, dtype, runtime, activation)
    df = pd.DataFrame([r.model_dump(exclude={"speedup", "kernel_speedup"}) for r in rep.per_batch])
    df.insert(0, "hardware", rep.hardware)
    return df.set_index(["hardware", "batch"])


def break_even(seconds_per_call: float, hardware: str = "local", inputs: int = 8, outputs: int = 8,
               surrogate: str = "mlp:64x64", batches: Sequence[int] | None = None, dtype: str = "fp32") -> int | None:
    """The smallest batch at which the surrogate beats ``seconds_per_call``; None: never."""
    from .model.surrogate import break_even_batch
    from .predict import predict_sweep

    return break_even_batch(seconds_per_call, predict_sweep(hardware, inputs, outputs, surrogate, dtype, batches))


def roofline_figure(hardware: str = "local", series: dict | None = None, dtype: str = "fp32"):
    """A matplotlib Figure of the device's roofs; ``series`` maps a label to ``(inputs, outputs, surrogate,
    batches)`` and places that surrogate at each batch size."""
    from .predict import predict_sweep, profile_of
    from .report.roofline_plot import roofline_figure as _figure

    prof = profile_of(hardware)
    sweeps = {label: predict_sweep(prof, i, o, s, dtype, b) for label, (i, o, s, b) in (series or {}).items()}
    return _figure(prof, sweeps, dtype)


def bench(prog: str, args: Sequence[str] = (), function: str = "", out: str | os.PathLike = "bench.out",
          tracking: Tracking | None = None, **options):
    """``phasm-perf bench``: capture ``function`` (``MODULE:QUALNAME``) in ``prog args``, train, time, swap it in;
    ``options`` as :class:`phasm_perf.bench.run.BenchOptions`. Returns the :class:`~phasm_perf.bench.report.BenchReport`
    (the surrogate, the sample, bench.json and bench.html are kept in ``out``). The run is tracked in MLflow
    (``tracking``, default: the sqlite store in ``out``; ``Tracking(enabled=False)`` turns it off)."""
    from .bench.run import BenchOptions, bench as _bench
    from .report.bench import render_html

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
    from .discover.python import discover

    if not isinstance(prog, Target):
        if as_command and prog.endswith(".py") and os.path.isfile(prog):
            as_command = False  # `-- prog.py ARGS`: a script, run with this Python
        prog = resolve_target(prog, args, as_command=as_command)
    return discover(prog, function, calls=calls, event_loop=event_loop, timeout=timeout)


def largest_batch(report) -> int | None:
    """The largest batch the program can form as it stands (1: its calls depend on each other)."""
    from .discover import largest_batch as _largest

    return _largest(report)


def bench_frame(report) -> pd.DataFrame:
    """A bench report's per-batch table (measured and predicted seconds, error) as a DataFrame indexed by batch."""
    import pandas as pd  # start-up time (see the top of this module)

    return pd.DataFrame([r.model_dump() for r in report.per_batch]).set_index("batch")


def vars_native(target, function: str, **options):
    """``phasm-perf vars`` for a compiled function: a :class:`~phasm_perf.discover.schema.VarsReport`."""
    from .discover.native import NativeVarsOptions, discover  # frida and pyelftools: the `native` extra
    return discover(target, function, NativeVarsOptions(**options))


def bench_native(target, function: str, opts, out: str | os.PathLike = "bench.out", *, vars_calls: int = 10,
                 inputs: Sequence[str] = (), outputs: Sequence[str] = (), on_status=None, on_progress=None):
    """``phasm-perf bench`` on a compiled function: discover, capture, train, time the native runtime, swap it into
    the unmodified binary. ``opts``: :class:`phasm_perf.bench.run.BenchOptions`. The ``local`` profile gets its
    native runtime costs measured the first time (``hw measure`` measures them too)."""
    from .bench.native.run import NativeExtras, bench_native as _bench_native

    if opts.hardware == "local":
        ensure_native_costs(on_status)
    return _bench_native(target, function, opts, out, NativeExtras(vars_calls, tuple(inputs), tuple(outputs)),
                         on_status=on_status, on_progress=on_progress)


def ensure_native_costs(on_status=None, path: str | os.PathLike | None = None, force: bool = False):
    """The local hardware profile with its native runtime costs (measured and saved when it has none)."""
    from .bench.native.measure import measure_native
    from .core.output import write_output
    from .hardware import local_path
    from .hardware.profile import dump, load_file
    from .predict import profile_of

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


# ----------------------------------------------------------------------------------------------------- tracking
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
    from .track.records import SweepPoint

    return SweepPoint(surrogate=surrogate, dtype=dtype, rows=list(rows), model_bytes=built.get("bytes"),
                      trained=built.get("relative") is not None)


def track_bench(report, out_dir: str | os.PathLike, tracker: Tracker, points: Sequence = ()) -> Logged:
    """Log a bench run (its sweep points as child runs) with its files in ``out_dir`` and the surrogate as an
    MLflow model; the plot is written to ``out_dir/bench.png`` for it."""
    from .report.bench import plot_png
    from .track.records import bench_record

    out_dir = Path(out_dir)
    write_output(plot_png(report), str(out_dir / "bench.png"))
    return tracker.log(bench_record(report, out_dir, list(points)))


def tracked_runs(store: str | os.PathLike, experiment: str | None = None) -> pd.DataFrame:
    """The runs of a tracking store as a DataFrame (``mlflow.search_runs``: one row per run, ``params.*``,
    ``metrics.*`` and ``tags.*`` columns). ``store``: a URI, or a folder holding the default ``mlflow.db``."""
    from .track import DEFAULT_EXPERIMENT, default_uri
    from .track.mlflow import runs_frame

    uri = str(store) if "://" in str(store) else default_uri(store)
    return runs_frame(uri, experiment or DEFAULT_EXPERIMENT)


# ------------------------------------------------------------------------------------------------------- search
def search_session(target, function: str, opts, out: str | os.PathLike, tracking: Tracking | None = None,
                   store: str | os.PathLike | None = None, on_status=None, on_event=None):
    """``phasm-perf search`` on a resolved target: the search (:func:`phasm_perf.search.run.run_search`), its files
    in ``out`` (search.json, search.html, search.png, the trials' surrogates), and its MLflow parent run closed with
    them as artifacts. The default tracking store lives in ``store`` (default ``out``). A tracking error does not
    stop the search: it is kept on the report (``report._tracking_error``) for the caller to raise once its own
    outputs are written."""
    from .report.search import plot_png, render_html
    from .search.results import summary_metrics
    from .search.run import run_search, validate
    from .track import RunRecord
    from .track.records import SearchLog

    out = Path(out)
    validate(opts)
    tracker, error = open_tracking(tracking or Tracking(), store or out, on_status)
    report = run_search(target, function, opts, out, SearchLog(tracker) if tracker else None, on_status, on_event)
    png = plot_png(report)
    write_output(report.model_dump_json(indent=2) + "\n", str(out / "search.json"))
    write_output(png, str(out / "search.png"))
    write_output(render_html(report, png), str(out / "search.html"))
    error = error or report._tracking_error
    if tracker is not None and report.tracking and error is None:
        files = [out / n for n in ("search.json", "search.html", "search.png")]
        try:
            tracker.finish(report.tracking["parent_run_id"],
                           RunRecord(name=f"search {report.function}", metrics=summary_metrics(report),
                                     artifacts=files, tags={"phasm_perf.status": report.status}),
                           "KILLED" if report.status == "interrupted" else "FINISHED")
        except TrackingError as exc:
            error = exc
    if error is not None and not isinstance(error, TrackingError):  # a store error met inside the search
        error = TrackingError(str(error))
    report._tracking_error = error.kept(f"{out}/") if error is not None else None
    return report


def search(prog: str, args: Sequence[str] = (), function: str = "", out: str | os.PathLike = "search.out",
           tracking: Tracking | None = None, **options):
    """``phasm-perf search`` from Python: ``options`` as :class:`phasm_perf.search.run.SearchOptions` (``space``: a
    :class:`phasm_perf.search.space.Space`). Returns the :class:`~phasm_perf.search.schema.SearchReport`."""
    from .search.run import SearchOptions

    report = search_session(resolve_target(prog, args), function, SearchOptions(**options), out, tracking)
    if report._tracking_error is not None:
        raise report._tracking_error
    return report


def trials_frame(report) -> pd.DataFrame:
    """A search report's trials as a DataFrame indexed by trial number (``on_front`` marks the Pareto front)."""
    import pandas as pd  # start-up time (see the top of this module)

    front = {p.number for p in report.pareto}
    df = pd.DataFrame([t.model_dump(exclude={"errors"}) for t in report.trials]).set_index("number")
    df["on_front"] = [n in front for n in df.index]
    return df
