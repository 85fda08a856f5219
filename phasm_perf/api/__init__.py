"""The Python API that the command line and the notebooks share.

    >>> from phasm_perf import api
    >>> bundle = api.profile("examples/particles.py", ["--steps", "200"], "out.phasm")   # doctest: +SKIP
    >>> report = api.rank(bundle)                                                       # doctest: +SKIP
    >>> api.candidates_frame(report)                                                    # doctest: +SKIP

Every public name is ``api.NAME``; the modules behind it hold one concern each: ``_profiling`` (running a program
under a collector), ``_analysis`` (reading profiles, the call tree, the ranking, flame graphs), ``_hardware``
(predicting before training), ``_bench`` (discovery and bench), ``_bench_session`` (bench as the command line runs
it), ``_tracking`` (MLflow) and ``_search`` (the design-space search).

The analysis (the call tree, the candidates, the report) needs pandas, half a second or more to import: the
functions import it when they run, not at the top, so that `phasm-perf --help` and the start of a profiled program
do not wait for it (start-up time, ARCHITECTURE.md); :func:`profile` imports it in the background while the
program runs.
"""

from __future__ import annotations

from ..calltree.readers import Profile, read_profile
from ..collect.program import Target, resolve_target
from ..collect.run import CountTarget, ProfileOptions
from ..track import Logged, Tracker, Tracking, TrackingError
from ._analysis import (bundle_from_profile, call_tree, candidates_frame, flamegraph, load, load_profile, rank,
                        rank_html)
from ._bench_session import BenchSession, open_bench
from ._bench import bench, bench_frame, bench_native, ensure_native_costs, largest_batch, vars, vars_native
from ._hardware import break_even, hardware, hardware_frame, hardware_names, measure_hardware, predict, roofline_figure
from ._profiling import ANALYSIS_MODULES, check_outcome, counting_targets, profile
from ._search import search, search_session, trials_frame
from ._tracking import open_tracking, sweep_point, track_bench, tracked_runs

__all__ = [
    "ANALYSIS_MODULES", "BenchSession", "CountTarget", "Logged", "Profile", "ProfileOptions", "Target", "Tracker", "Tracking",
    "TrackingError", "bench", "bench_frame", "bench_native", "break_even", "bundle_from_profile", "call_tree",
    "candidates_frame", "check_outcome", "counting_targets", "ensure_native_costs", "flamegraph", "hardware",
    "hardware_frame", "hardware_names", "largest_batch", "load", "load_profile", "measure_hardware",
    "open_bench", "open_tracking", "predict", "profile", "rank", "rank_html", "read_profile", "resolve_target", "roofline_figure",
    "search", "search_session", "sweep_point", "track_bench", "tracked_runs", "trials_frame", "vars",
    "vars_native",
]
