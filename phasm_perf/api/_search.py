"""The design-space search from Python: the session (search, its files, its tracking) and its trials."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from ..collect.program import resolve_target
from ..core.output import write_output
from ..track import Tracking, TrackingError
from ._tracking import open_tracking

if TYPE_CHECKING:
    import pandas as pd


def search_session(target, function: str, opts, out: str | os.PathLike, tracking: Tracking | None = None,
                   store: str | os.PathLike | None = None, on_status=None, on_event=None):
    """``phasm-perf search`` on a resolved target: the search (:func:`phasm_perf.search.run.run_search`), its files
    in ``out`` (search.json, search.html, search.png, the trials' surrogates), and its MLflow parent run closed with
    them as artifacts. The default tracking store lives in ``store`` (default ``out``). A tracking error does not
    stop the search: it is kept on the report (``report._tracking_error``) for the caller to raise once its own
    outputs are written."""
    from ..report.search import plot_png, render_html
    from ..search.results import summary_metrics
    from ..search.run import run_search, validate
    from ..track import RunRecord
    from ..track.records import SearchLog

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
    from ..search.run import SearchOptions

    report = search_session(resolve_target(prog, args), function, SearchOptions(**options), out, tracking)
    if report._tracking_error is not None:
        raise report._tracking_error
    return report


def trials_frame(report) -> pd.DataFrame:
    """A search report's trials as a DataFrame indexed by trial number (``on_front`` marks the Pareto front)."""
    import pandas as pd  # start-up time (see phasm_perf/api/__init__.py)

    front = {p.number for p in report.pareto}
    df = pd.DataFrame([t.model_dump(exclude={"errors"}) for t in report.trials]).set_index("number")
    df["on_front"] = [n in front for n in df.index]
    return df
