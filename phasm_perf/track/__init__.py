"""Tracking: every bench run, sweep point and search trial recorded as an MLflow run.

The rest of phasm-perf passes plain results (:class:`RunRecord`: parameters, metrics, artifacts, the surrogate) and
never imports MLflow: :mod:`.mlflow` is the one adapter that does, loaded only when tracking is on, so
``--no-track`` is one branch (:func:`open_tracker` returns ``None``).

- :mod:`.records`  bench reports, sweep points -> :class:`RunRecord`
- :mod:`.mlflow`   the MLflow adapter: the store (sqlite in the output folder by default, or a server), runs, the
                   surrogate as an MLflow model, the model registry

The default store is ``sqlite:///FOLDER/mlflow.db`` with artifacts in ``FOLDER/mlartifacts``, so nothing needs a
server; ``--tracking-uri URI`` (or ``MLFLOW_TRACKING_URI``) names another (``http://host:5000`` for a shared
``mlflow server``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..core.errors import PhasmError

DB_NAME = "mlflow.db"
ARTIFACTS_NAME = "mlartifacts"
DEFAULT_EXPERIMENT = "phasm-perf"
URI_ENV = "MLFLOW_TRACKING_URI"
NO_TRACK_HINT = "pass --no-track to run without tracking"


class TrackingError(PhasmError):
    """Tracking failed (server unreachable, store unusable): the run's own results are kept; exit 1.
    ``what`` says what failed; :meth:`kept` adds where the run's results are."""

    exit_code = 1

    def __init__(self, what: str, hint: str = NO_TRACK_HINT, usage: bool = False) -> None:
        super().__init__(f"{what}; {hint}", 2 if usage else 1)
        self.what, self.hint = what, hint
        self.usage = usage  # a URI that is not one: said before the run, exit 2

    def kept(self, where: str | os.PathLike) -> "TrackingError":
        """The same error, saying that the run's results were written to ``where`` all the same."""
        return TrackingError(f"{self.what}; nothing tracked, the results are in {where}", self.hint)


@dataclass(frozen=True)
class Tracking:
    """Whether and where to track. ``uri`` ``None``: ``$MLFLOW_TRACKING_URI``, else the sqlite store in the output
    folder."""

    enabled: bool = True
    uri: str | None = None
    experiment: str = DEFAULT_EXPERIMENT

    def resolve_uri(self, folder: str | os.PathLike) -> str:
        return self.uri or os.environ.get(URI_ENV) or default_uri(folder)


def default_uri(folder: str | os.PathLike) -> str:
    """``sqlite:///ABSOLUTE/FOLDER/mlflow.db``: the local store, inside the output folder."""
    return "sqlite:///" + str((Path(folder) / DB_NAME).resolve())


@dataclass
class ModelRecord:
    """The surrogate to log as an MLflow model: ``module`` (a torch module in its deployed dtype), the number of
    inputs and outputs, a few real input rows as the example, and the ``torch.export`` file kept beside it."""

    module: Any
    inputs: int
    outputs: int
    example: Any  # numpy float32 array, shape (rows, inputs), rows >= 2
    dtype: str = "fp32"
    pt2: Path | None = None
    input_names: list[str] = field(default_factory=list)
    output_names: list[str] = field(default_factory=list)


@dataclass
class RunRecord:
    """One run, as plain values. ``steps``: a metric over a step (e.g. a time per batch size, the step being the
    batch); ``children``: runs logged under this one (sweep points of a bench run)."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    steps: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    artifacts: list[Path] = field(default_factory=list)
    model: ModelRecord | None = None
    children: list["RunRecord"] = field(default_factory=list)


@dataclass
class Logged:
    """Where a record went: its run, the model's URI (``models:/ID``) when a surrogate was logged, the children."""

    run_id: str
    model_uri: str | None = None
    children: list["Logged"] = field(default_factory=list)


@dataclass
class Registered:
    name: str
    version: str
    alias: str
    model_uri: str


class Tracker(Protocol):
    """What :func:`open_tracker` returns (the adapter in :mod:`.mlflow`)."""

    uri: str
    experiment: str
    experiment_id: str

    def log(self, record: RunRecord, parent: str | None = None) -> Logged: ...

    def start(self, record: RunRecord, parent: str | None = None) -> str: ...

    def finish(self, run_id: str, record: RunRecord | None = None, status: str = "FINISHED") -> Logged: ...

    def register(self, model_uri: str, name: str, alias: str) -> Registered: ...


def open_tracker(tracking: Tracking, folder: str | os.PathLike) -> Tracker | None:
    """The tracker for ``tracking`` (``None`` when it is off). A server that does not answer, a URI that is not
    one, or a store that cannot be opened is a :class:`TrackingError` naming it, with the ``--no-track`` hint."""
    if not tracking.enabled:
        return None
    try:
        from .mlflow import MlflowTracker
    except ImportError:
        raise TrackingError("tracking needs MLflow: pip install 'phasm-perf[track]'") from None
    return MlflowTracker(tracking.resolve_uri(folder), tracking.experiment, Path(folder))


def param_text(value: Any, limit: int = 500) -> str:
    """A parameter value as MLflow keeps it (text, at most ``limit`` characters)."""
    text = value if isinstance(value, str) else ",".join(map(str, value)) if isinstance(value, (list, tuple)) \
        else str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
