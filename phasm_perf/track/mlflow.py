"""The MLflow adapter: the only module of phasm-perf that imports MLflow.

It takes :class:`~phasm_perf.track.RunRecord` values and writes them as MLflow runs: parameters and metrics in one
batch per run, files as artifacts, the surrogate as an MLflow model (PyTorch flavour, ``torch.export`` format, with
a signature and a few real input rows as the example; the deployed ``.pt2`` kept beside it as an extra file), child
runs under their parent (``mlflow.parentRunId``). Every MLflow error becomes one
:class:`~phasm_perf.track.TrackingError` line naming the store, with the ``--no-track`` hint.

The model takes and returns float32 whatever the surrogate's dtype: the exported graph casts to the dtype it was
deployed in and back, so ``mlflow.pyfunc.load_model(uri).predict(float32_rows)`` works for a bf16 surrogate too.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import urllib.error
import urllib.request
import warnings
from pathlib import Path
from typing import Iterator

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag

from . import ARTIFACTS_NAME, NO_TRACK_HINT, Logged, ModelRecord, Registered, RunRecord, TrackingError, param_text

MODEL_NAME = "surrogate"
_QUIET = ("mlflow", "alembic", "urllib3")


def _key(name: str) -> str:
    """A parameter or metric name as MLflow accepts it (``relative_error.out[0]`` -> ``relative_error.out_0``)."""
    return re.sub(r"[^\w\-. :/]+", "_", name).strip("_") or "_"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """MLflow's own chatter (database migrations, 'View run at', registration notices, example validation)
    off while phasm-perf calls it: the command prints its own lines."""
    saved = {n: logging.getLogger(n).level for n in _QUIET}
    for n in _QUIET:
        logging.getLogger(n).setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for n, level in saved.items():
            logging.getLogger(n).setLevel(level)


class MlflowTracker:
    """One tracking store and experiment. Opening it checks the URI and that a server answers (``/health`` within
    a few seconds), so a run learns at its start, not at its end, that nothing will be tracked; the store itself
    (a sqlite file, the experiment) is made at its first use, so a run refused before it starts leaves nothing."""

    def __init__(self, uri: str, experiment: str, folder: Path, create: bool = True) -> None:
        self.uri = uri
        self.experiment = experiment
        self._create = create
        self._client = None
        self._experiment_id: str | None = None
        # a server that goes away mid-run: a few quick retries, not MLflow's default of minutes
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # MLflow 3 reports usage by default: not ours to send
        check_uri(uri)
        if uri.startswith(("http://", "https://")):
            probe(uri)

    @property
    def client(self) -> MlflowClient:
        self._open()
        return self._client

    @property
    def experiment_id(self) -> str:
        self._open()
        return self._experiment_id

    def _open(self) -> None:
        if self._client is not None:
            return
        uri = self.uri
        if uri.startswith("sqlite:///"):
            Path(uri[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        with self._guard("opening the store"):
            _use_uri(uri)
            client = MlflowClient(tracking_uri=uri, registry_uri=uri)
            exp = client.get_experiment_by_name(self.experiment)
            if exp is None and not self._create:
                raise TrackingError(f"no experiment {self.experiment!r} in {uri}", "check the name (--experiment)")
            if exp is None:
                self._experiment_id = client.create_experiment(self.experiment, artifact_location=_artifacts(uri))
            else:
                self._experiment_id = exp.experiment_id
            self._client = client

    @contextlib.contextmanager
    def _guard(self, what: str) -> Iterator[None]:
        with _quiet():
            try:
                yield
            except TrackingError:
                raise
            except Exception as exc:  # noqa: BLE001 - MLflow, SQLAlchemy, requests, OS errors: all one line
                raise TrackingError(f"tracking to {self.uri} failed while {what}: {_first_line(exc)}") from None

    # ---- runs ------------------------------------------------------------------------------------------------
    def start(self, record: RunRecord, parent: str | None = None) -> str:
        """Open a run for ``record`` (status RUNNING); :meth:`finish` logs its content and closes it."""
        tags = dict(record.tags)
        if parent:
            tags["mlflow.parentRunId"] = parent
        with self._guard(f"creating run {record.name!r}"):
            run = self.client.create_run(self.experiment_id, run_name=record.name, tags=tags)
        return run.info.run_id

    def finish(self, run_id: str, record: RunRecord | None = None, status: str = "FINISHED") -> Logged:
        logged = Logged(run_id)
        if record is not None:
            logged = self._body(run_id, record)
        with self._guard("closing a run"):
            self.client.set_terminated(run_id, status)
        return logged

    def log(self, record: RunRecord, parent: str | None = None) -> Logged:
        """Log ``record`` (and its children under it) as finished runs."""
        return self.finish(self.start(record, parent), record)

    def _body(self, run_id: str, record: RunRecord) -> Logged:
        with self._guard(f"logging run {record.name!r}"):
            params = [Param(_key(k), param_text(v)) for k, v in record.params.items() if v is not None]
            metrics = [Metric(_key(k), float(v), 0, 0) for k, v in record.metrics.items() if v is not None]
            for name, points in record.steps.items():
                metrics += [Metric(_key(name), float(v), 0, int(s)) for s, v in points if v is not None]
            tags = [RunTag(k, str(v)) for k, v in record.tags.items()]
            for i in range(0, max(len(metrics), 1), 900):  # MLflow takes at most 1000 metrics per batch
                self.client.log_batch(run_id, metrics=metrics[i:i + 900], params=params if i == 0 else [],
                                      tags=tags if i == 0 else [])
            for path in record.artifacts:
                if Path(path).exists():
                    self.client.log_artifact(run_id, str(path))
        model_uri = self._model(run_id, record.model) if record.model is not None else None
        children = [self.log(child, parent=run_id) for child in record.children]
        return Logged(run_id, model_uri, children)

    def _model(self, run_id: str, m: ModelRecord) -> str:
        import numpy as np
        import torch
        from mlflow.models import ModelSignature
        from mlflow.types import Schema, TensorSpec

        sig = ModelSignature(inputs=Schema([TensorSpec(np.dtype(np.float32), (-1, m.inputs))]),
                             outputs=Schema([TensorSpec(np.dtype(np.float32), (-1, m.outputs))]))
        example = np.asarray(m.example, dtype=np.float32)
        if len(example) < 2:  # a batch of 1 would export a graph fixed at batch 1
            example = np.concatenate([example, example])[:2]
        with self._guard("logging the surrogate as an MLflow model"), mlflow.start_run(run_id=run_id):
            info = mlflow.pytorch.log_model(
                _float32_io(torch, m.module), name=MODEL_NAME, signature=sig, input_example=example[:5],
                serialization_format="pt2", pip_requirements=[f"torch=={torch.__version__.split('+')[0]}"],
                extra_files=[str(m.pt2)] if m.pt2 and Path(m.pt2).exists() else None,
                metadata={"phasm_perf": {"dtype": m.dtype, "input_names": m.input_names,
                                         "output_names": m.output_names}})
        return info.model_uri

    def register(self, model_uri: str, name: str, alias: str) -> Registered:
        """A new version of registered model ``name`` from ``model_uri``, with ``alias`` moved to it."""
        self._open()
        with self._guard(f"registering {name!r}"), contextlib.redirect_stderr(io.StringIO()), \
                contextlib.redirect_stdout(io.StringIO()):  # MLflow prints its own 'Successfully registered'
            mv = mlflow.register_model(model_uri, name, await_registration_for=0)
            self.client.set_registered_model_alias(name, alias, mv.version)
        return Registered(name=name, version=str(mv.version), alias=alias, model_uri=f"models:/{name}@{alias}")


def _use_uri(uri: str) -> None:
    """MLflow's fluent API on ``uri``, without the side effect of ``mlflow.set_tracking_uri``: it also sets
    ``$MLFLOW_TRACKING_URI``, which the caller's process (a notebook) and every program it starts would inherit, so
    that the next run's default store would silently be this one."""
    saved = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(uri)
    if saved is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = saved


def check_uri(uri: str) -> None:
    """A URI whose scheme MLflow has no store for is a usage error, said before any run."""
    from urllib.parse import urlparse

    try:
        from mlflow.tracking._tracking_service.utils import _tracking_store_registry

        known = set(_tracking_store_registry._registry)
    except (ImportError, AttributeError):  # MLflow moved it: let MLflow itself refuse the URI later
        return
    scheme = urlparse(uri).scheme
    if scheme not in known:
        names = ", ".join(sorted(k for k in known if k))
        raise TrackingError(f"--tracking-uri {uri!r}: MLflow has no store for {scheme + ':' if scheme else 'it'} "
                            f"(give one of {names}, e.g. http://host:5000 or sqlite:///path/mlflow.db)",
                            f"or {NO_TRACK_HINT}", usage=True)


def probe(uri: str, timeout: float = 5.0) -> None:
    """One request to the server's ``/health``: a :class:`TrackingError` when nothing answers in ``timeout`` s."""
    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout) as resp:  # noqa: S310 - the user's URI
            if resp.status != 200:
                raise urllib.error.URLError(f"HTTP {resp.status}")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        why = _first_line(reason) if isinstance(reason, BaseException) else str(reason)
        raise TrackingError(f"tracking server {uri} unreachable ({why})",
                            f"start the server, or {NO_TRACK_HINT}") from None


def _artifacts(uri: str) -> str | None:
    """Where a new experiment keeps its artifacts: beside a sqlite store (``mlartifacts``); a server or another
    store decides itself."""
    if uri.startswith("sqlite:///"):
        return (Path(uri[len("sqlite:///"):]).parent / ARTIFACTS_NAME).resolve().as_uri()
    return None


def _float32_io(torch, module):
    """``module`` behind a float32 door: inputs cast to its dtype, outputs back to float32 (inside the exported
    graph, so the class need not be importable where the model is loaded)."""
    dtype = next(module.parameters()).dtype

    class Float32IO(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = module

        def forward(self, x):
            return self.net(x.to(dtype)).to(torch.float32)

    return Float32IO().eval()


def runs_frame(uri: str, experiment: str):
    """Every run of ``experiment`` in the store at ``uri`` as a pandas DataFrame (``mlflow.search_runs``)."""
    tracker = MlflowTracker(uri, experiment, Path("."), create=False)
    with tracker._guard("reading the runs"):
        return mlflow.search_runs(experiment_ids=[tracker.experiment_id], output_format="pandas")
