"""Running a program under a collector: the bundle, the counting pass's targets, the run's outcome."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from ..calltree.readers import Profile
from ..collect.program import Target, resolve_target
from ..collect.run import CountTarget, ProfileOptions, profile as _profile
from ..core.errors import ProgramFailed, ProgramInterrupted, TooFewSamples

if TYPE_CHECKING:
    from ..core.bundle import Bundle  # pydantic (the bundle's types): imported where used (start-up time)


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
    from ..candidates import SelectOptions, select  # pandas: start-up time (see phasm_perf/api/__init__.py)
    from ..candidates.loop import HOLDS

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
    from ..report import selection_of  # pandas: start-up time (see phasm_perf/api/__init__.py)

    table = selection_of(bundle).table
    return bool((table["excluded"].isin(["", "tiny", "tower"]) & (table["incl"] > 0)).any())


def _stderr_tail(path: Path) -> str:
    f = Path(path) / "stderr.txt"
    try:
        lines = [ln for ln in f.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    return f"; last line of its stderr: {lines[-1].strip()[:200]}" if lines else ""
