"""A search as MLflow runs (through :mod:`phasm_perf.track`, never MLflow itself): one parent run for the search
session, one child run per finished trial with its surrogate as an MLflow model."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from ..track import RunRecord, Tracker
from ..track.records import SOURCE_TAG, bytes_model, common_params
from .objectives import Predicted
from .space import Architecture, Space


def search_parent(target, function: str, opts, space: Space, hardware: str, batch: int, study: str) -> RunRecord:
    params = common_params(list(target.argv), function, hardware, 0, 0)
    params.pop("inputs"), params.pop("outputs")
    params.update({"study": study, "trials": opts.trials, "objectives": opts.objectives, "batch": batch,
                   "sampler": opts.sampler, "seed": opts.seed, "synthetic": opts.synthetic,
                   "space": space.signature(), "min_speedup": opts.min_speedup})
    return RunRecord(name=f"search {function}", params=params, tags={SOURCE_TAG: "search"})


def trial_record(number: int, arch: Architecture, pred: Predicted, attrs: dict, base: dict,
                 example: np.ndarray) -> RunRecord:
    params = dict(base, trial=number, **arch.as_params(), hidden=list(arch.hidden))
    metrics = {"validation_relative_error": attrs.get("error"), "validation_loss": attrs.get("validation_loss"),
               "predicted_speedup": pred.speedup, "predicted_seconds_per_batch": pred.seconds_per_batch,
               "break_even_batch": pred.break_even_batch, "epochs_run": attrs.get("epochs_run"),
               "training_seconds": attrs.get("training_seconds"), "parameters": attrs.get("parameters")}
    metrics.update({f"relative_error.{i}": e for i, e in enumerate(attrs.get("errors") or [])})
    model = bytes_model(attrs["bytes"], example, Path(attrs["model_path"])) if attrs.get("bytes") else None
    return RunRecord(name=f"trial {number} {arch.label()}", params=params, metrics=metrics,
                     tags={SOURCE_TAG: "search-trial"}, model=model)


def trial_tracker(tracker: Tracker, parent: str, function: str, hardware: str, batch: int,
                  example: np.ndarray) -> Callable[[int, Architecture, Predicted, dict], dict]:
    """The loop's ``track`` hook: log a finished trial under ``parent``; returns its run id and model URI."""
    base = {"function": function, "hardware": hardware, "batch": batch}

    def track(number: int, arch: Architecture, pred: Predicted, attrs: dict) -> dict:
        logged = tracker.log(trial_record(number, arch, pred, attrs, base, example), parent=parent)
        return {"run_id": logged.run_id, "model_uri": logged.model_uri, "tracking_uri": tracker.uri}

    return track


def search_summary(report, out_dir: Path) -> RunRecord:
    """What the search's parent run gets once the search is over: its outcome as metrics, its files."""
    done = [t for t in report.trials if t.state == "complete"]
    best = report.pareto[0] if report.pareto else None
    metrics = {"trials_complete": len(done), "trials_pruned": sum(t.state == "pruned" for t in report.trials),
               "trials_failed": sum(t.state == "failed" for t in report.trials), "front_size": len(report.pareto),
               "best_error": best.error if best else None, "best_error_speedup": best.predicted_speedup if best else None,
               "max_predicted_speedup": max((p.predicted_speedup for p in report.pareto), default=None),
               "search_seconds": report.seconds}
    files = [out_dir / n for n in ("search.json", "search.html", "search.png")]
    return RunRecord(name=f"search {report.function}", metrics=metrics, artifacts=files,
                     tags={"phasm_perf.status": report.status})
