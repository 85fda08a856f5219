"""Results as :class:`~phasm_perf.track.RunRecord` values: a bench run (with its sweep points as children), and
the parameters every run shares (program, function, sizes, hardware profile and its file hash, version).

Names follow one vocabulary across bench, sweep and search runs, so that one MLflow query compares them:
``validation_relative_error``, ``predicted_seconds_per_batch`` (step = batch size), ``predicted_speedup``...
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from . import ModelRecord, RunRecord

SOURCE_TAG = "phasm_perf.kind"  # bench, sweep-point, search, search-trial


def hardware_file(name: str) -> Path | None:
    """The YAML file behind a hardware profile name (``local``, a shipped name, or a path)."""
    from ..hardware import available, local_path

    if name == "local":
        return local_path()
    p = Path(name)
    if p.suffix in (".yaml", ".yml") or p.is_file():
        return p
    return available().get(name) or available().get(name.lower())


def file_sha256(path: Path | None) -> str | None:
    if path is None or not path.is_file():
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()


def common_params(argv: list[str], function: str, hardware: str, inputs: int, outputs: int) -> dict[str, Any]:
    return {"program": " ".join(argv), "function": function, "inputs": inputs, "outputs": outputs,
            "hardware": hardware, "hardware_sha256": file_sha256(hardware_file(hardware)),
            "phasm_perf_version": __version__}


def surrogate_model(pt2: Path, example: np.ndarray | None = None) -> ModelRecord:
    """The saved surrogate (``surrogate.pt2``) as the module the program runs, for logging as an MLflow model;
    ``example``: real input rows (default: the first rows of the ``samples.npz`` beside it)."""
    from ..bench.train import load, runtime_module

    module, meta = load(pt2)
    net = runtime_module(module, meta, "eager")
    if example is None:
        samples = pt2.with_name("samples.npz")
        if samples.exists():
            example = _example_rows(samples, list(meta["input_names"]))
    n_in, n_out = len(meta["input_names"]), len(meta["output_names"])
    if example is None:
        example = np.zeros((2, n_in))
    return ModelRecord(module=net, inputs=n_in, outputs=n_out, example=np.asarray(example, dtype=np.float32),
                       dtype=meta.get("dtype", "fp32"), pt2=pt2, input_names=list(meta["input_names"]),
                       output_names=list(meta["output_names"]))


def _example_rows(samples: Path, input_names: list[str], rows: int = 5) -> np.ndarray | None:
    """The first ``rows`` captured inputs, in the surrogate's own columns: a capture may hold columns the surrogate
    does not take (a native capture keeps the inputs found constant, which the surrogate leaves out), so the columns
    are picked by name; None when the names do not match."""
    with np.load(samples) as z:
        X = z["X"][:rows]
        names = [str(n) for n in z["input_names"]] if "input_names" in z.files else None
    if names is None or names == input_names:
        return X if X.ndim == 2 and X.shape[1] == len(input_names) else None
    if not set(input_names) <= set(names):
        return None
    return X[:, [names.index(n) for n in input_names]]


def bench_record(report, out_dir: Path, points: list["SweepPoint"] | None = None) -> RunRecord:
    """A bench report (:class:`~phasm_perf.bench.report.BenchReport`) and the files in ``out_dir``."""
    c, t, o = report.capture, report.training, report.options
    params = common_params(report.argv, report.function, o.get("hardware", ""), len(c.input_names),
                           len(c.output_names))
    params.update({
        "surrogate": t.surrogate, "widths": t.widths, "activation": t.activation, "dtype": t.dtype,
        "parameters": t.parameters, "batches": [r.batch for r in report.per_batch], "device": report.device.device,
        "threads": report.device.threads, "runtime": report.device.runtime, "epochs": o.get("epochs"),
        "patience": o.get("patience"), "samples": c.samples, "sample_budget": c.budget, "seed": t.seed,
        "swap": o.get("swap"), "input_names": c.input_names, "output_names": c.output_names})
    e = report.end_to_end
    metrics = {
        "validation_loss": t.validation_loss, "validation_relative_error": t.max_relative_error,
        "epochs_run": t.epochs, "training_seconds": t.seconds, "bench_seconds": report.seconds,
        "original_seconds_per_call": e.seconds_per_call if e else c.seconds_per_call,
        "per_batch_median_error": report.per_batch_median_error, "end_to_end_error": report.end_to_end_error,
        "measured_speedup": e.measured_speedup if e else None, "predicted_speedup": e.predicted_speedup if e else None,
        "baseline_seconds": e.baseline_seconds if e else None, "surrogate_seconds": e.surrogate_seconds if e else None,
    }
    metrics.update({f"relative_error.{x.name}": x.relative for x in t.errors})
    steps = {"measured_seconds_per_batch": [(r.batch, r.measured_seconds) for r in report.per_batch],
             "predicted_seconds_per_batch": [(r.batch, r.predicted_seconds) for r in report.per_batch],
             "prediction_error_per_batch": [(r.batch, r.error) for r in report.per_batch]}
    files = [out_dir / n for n in ("bench.json", "bench.html", "bench.png")]
    pt2 = Path(t.path)
    return RunRecord(
        name=f"bench {report.function} {t.surrogate} {t.dtype}", params=params, metrics=metrics, steps=steps,
        tags={SOURCE_TAG: "bench", "phasm_perf.verdict": report.verdict}, artifacts=files,
        model=surrogate_model(pt2) if pt2.exists() else None,
        children=[sweep_record(p, params) for p in points or []])


@dataclass
class SweepPoint:
    """One (shape, dtype) of a ``--sweep``: its timed batches and, when trained, the surrogate."""

    surrogate: str
    dtype: str
    rows: list = field(default_factory=list)  # SweepRow of this shape and dtype
    model_bytes: bytes | None = None
    trained: bool = False


def sweep_record(point: SweepPoint, parent_params: dict[str, Any]) -> RunRecord:
    params = {k: parent_params[k] for k in ("program", "function", "inputs", "outputs", "hardware",
                                            "hardware_sha256", "phasm_perf_version") if k in parent_params}
    params.update({"surrogate": point.surrogate, "dtype": point.dtype, "trained": point.trained,
                   "batches": [r.batch for r in point.rows]})
    rel = next((r.validation_relative_error for r in point.rows if r.validation_relative_error is not None), None)
    errs = [abs(r.error) for r in point.rows if r.error is not None]
    metrics = {"validation_relative_error": rel, "per_batch_median_error": float(np.median(errs)) if errs else None}
    steps = {"measured_seconds_per_batch": [(r.batch, r.measured_seconds) for r in point.rows],
             "predicted_seconds_per_batch": [(r.batch, r.predicted_seconds) for r in point.rows],
             "prediction_error_per_batch": [(r.batch, r.error) for r in point.rows]}
    model = None
    if point.trained and point.model_bytes:
        model = bytes_model(point.model_bytes)
    return RunRecord(name=f"sweep {point.surrogate} {point.dtype}", params=params, metrics=metrics, steps=steps,
                     tags={SOURCE_TAG: "sweep-point"}, model=model)


def bytes_model(data: bytes, example: np.ndarray | None = None, pt2: Path | None = None) -> ModelRecord:
    """A surrogate shipped as bytes (a Dask task's result) as a :class:`ModelRecord`."""
    import io

    from ..bench.train import load, runtime_module

    module, meta = load(io.BytesIO(data))
    net = runtime_module(module, meta, "eager")
    n_in, n_out = len(meta["input_names"]), len(meta["output_names"])
    if example is None:
        mean = np.asarray(meta.get("normalisation", {}).get("x_mean") or np.zeros(n_in), dtype=np.float32)
        example = np.stack([mean, mean])
    return ModelRecord(module=net, inputs=n_in, outputs=n_out, example=np.asarray(example, dtype=np.float32),
                       dtype=meta.get("dtype", "fp32"), pt2=pt2, input_names=list(meta["input_names"]),
                       output_names=list(meta["output_names"]))


def track_folder(out_dir: str | os.PathLike, default_layout: bool) -> Path:
    """The folder of the default store: the output root (``phasm-out``) when runs get their own subfolders there,
    so that runs accumulate in one store; otherwise the output folder itself."""
    p = Path(out_dir)
    return p.parent if default_layout else p


class SearchLog:
    """A search's runs in MLflow (``search.results.TrialLog``): one parent run, a child per finished trial with its
    surrogate as an MLflow model (``example``: real input rows), the best one registered."""

    def __init__(self, tracker) -> None:
        self.tracker = tracker
        self.uri, self.experiment = tracker.uri, tracker.experiment
        self.example: np.ndarray | None = None

    def start(self, name: str, params: dict[str, Any], example: np.ndarray) -> str:
        self.example = example
        return self.tracker.start(RunRecord(name=name, params=params, tags={SOURCE_TAG: "search"}))

    def trial(self, parent: str, number: int, name: str, params: dict[str, Any], metrics: dict[str, float | None],
              model: bytes | None, model_path: str | None) -> dict:
        rec = RunRecord(name=name, params=params, metrics=metrics, tags={SOURCE_TAG: "search-trial"},
                        model=bytes_model(model, self.example, Path(model_path) if model_path else None)
                        if model else None)
        logged = self.tracker.log(rec, parent=parent)
        return {"run_id": logged.run_id, "model_uri": logged.model_uri, "tracking_uri": self.uri}

    def register(self, model_uri: str, name: str, alias: str) -> dict:
        r = self.tracker.register(model_uri, name, alias)
        return {"name": r.name, "version": r.version, "alias": r.alias, "model_uri": r.model_uri}
