"""A search's results as plain values, for whoever records them (the tracking adapter, through ``api``): the
parameters of the search and of each trial, a trial's metrics, the outcome of the search. Nothing here knows where
they go. What records them implements :class:`TrialLog`."""

from __future__ import annotations

from typing import Any, Protocol

from .. import __version__
from .objectives import Predicted
from .space import Architecture


class TrialLog(Protocol):
    """Where a search's runs go (``track.records.SearchLog`` for MLflow). Its methods raise
    :class:`~phasm_perf.core.errors.PhasmError` when the store fails; the search then goes on untracked."""

    uri: str
    experiment: str

    def start(self, name: str, params: dict[str, Any], example) -> str: ...  # example: input rows for models

    def trial(self, parent: str, number: int, name: str, params: dict[str, Any], metrics: dict[str, float | None],
              model: bytes | None, model_path: str | None) -> dict: ...

    def register(self, model_uri: str, name: str, alias: str) -> dict: ...


def search_params(argv: list[str], function: str, opts, space_signature: str, hardware: str, batch: int,
                  study: str) -> dict[str, Any]:
    return {"program": " ".join(argv), "function": function, "hardware": hardware, "study": study,
            "trials": opts.trials, "objectives": opts.objectives, "batch": batch, "sampler": opts.sampler,
            "seed": opts.seed, "synthetic": opts.synthetic, "space": space_signature, "min_speedup": opts.min_speedup,
            "phasm_perf_version": __version__}


def trial_params(number: int, arch: Architecture, base: dict[str, Any]) -> dict[str, Any]:
    return dict(base, trial=number, **arch.as_params(), hidden=list(arch.hidden))


def trial_metrics(attrs: dict, pred: Predicted) -> dict[str, float | None]:
    metrics = {"validation_relative_error": attrs.get("error"), "validation_loss": attrs.get("validation_loss"),
               "predicted_speedup": pred.speedup, "predicted_seconds_per_batch": pred.seconds_per_batch,
               "break_even_batch": pred.break_even_batch, "epochs_run": attrs.get("epochs_run"),
               "training_seconds": attrs.get("training_seconds"), "parameters": attrs.get("parameters")}
    metrics.update({f"relative_error.{i}": e for i, e in enumerate(attrs.get("errors") or [])})
    return metrics


def summary_metrics(report) -> dict[str, float | None]:
    """The outcome of a search session (a :class:`~.schema.SearchReport`)."""
    done = [t for t in report.trials if t.state == "complete"]
    best = report.pareto[0] if report.pareto else None
    return {"trials_complete": len(done), "trials_pruned": sum(t.state == "pruned" for t in report.trials),
            "trials_failed": sum(t.state == "failed" for t in report.trials), "front_size": len(report.pareto),
            "best_error": best.error if best else None,
            "best_error_speedup": best.predicted_speedup if best else None,
            "max_predicted_speedup": max((p.predicted_speedup for p in report.pareto), default=None),
            "search_seconds": report.seconds}
