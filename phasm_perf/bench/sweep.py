"""Sweep surrogate shapes x dtypes x batch sizes as Dask trials (``dask.distributed``).

A local cluster by default, or any scheduler (``--scheduler tcp://host:8786``; a Slurm or PBS cluster started with
``dask-jobqueue`` is just another scheduler address). Two kinds of task:

- building (and with ``train``, training) one surrogate per shape and dtype: independent, run in parallel; the
  result travels back as the bytes of a saved surrogate (``torch.export``), so workers need no shared file system;
- timing one (shape, dtype, batch) trial: each holds ``distributed.Lock("phasm-perf-timing-HOST-DEVICE")`` while it
  times, so two timed trials never share a device, whichever worker runs them. Timing starts only once every
  build has finished, so training never runs beside a timed trial either.
"""

from __future__ import annotations

import io
import logging
import socket
import statistics
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..core.errors import PhasmError
from . import report as R
from .predict import Prediction, load_profile, predict
from ..model.spec import hidden_text, parse_hidden
from .train import TrainOptions, build_surrogate, fold, load, runtime_module, to_bytes, train


@dataclass
class SweepOptions:
    surrogates: list[str] = field(default_factory=lambda: ["mlp:32x32", "mlp:64x64", "mlp:128x128"])
    dtypes: list[str] = field(default_factory=lambda: ["fp32", "bf16"])
    batches: list[int] = field(default_factory=lambda: [1, 8, 64, 512])
    device: str = "cpu"
    threads: int | None = None
    hardware: str = "local"
    repeats: int = 15
    train: bool = False
    epochs: int = 200
    seed: int = 0
    scheduler: str | None = None
    workers: int = 2
    runtime: str = "eager"


def lock_name(device: str, host: str | None = None) -> str:
    """One lock per physical device: the host's CPU, or one GPU of a host."""
    return f"phasm-perf-timing-{host or socket.gethostname()}-{device}"


def build_task(hidden: tuple[int, ...], dtype: str, base: dict, data: dict | None, epochs: int, seed: int) -> dict:
    """Build (and optionally train) one surrogate shape; returns its saved bytes (``torch.export``, the metadata
    inside) and its validation error."""
    import torch

    torch.set_num_threads(1)
    rel = None
    if data is not None:
        t = train(data["X"], data["Y"], base["output_names"],
                  TrainOptions(hidden=hidden, activation=base["activation"], epochs=epochs, seed=seed, dtype=dtype))
        module = t.module
        rels = [e.relative for e in t.errors if e.relative is not None]
        rel = max(rels) if rels else None
    else:
        module = fold(build_surrogate(base["n_in"], base["n_out"], hidden, base["activation"], base["x_mean"],
                                      base["x_std"], base["y_mean"], base["y_std"]), dtype)
    meta = {"input_names": [""] * base["n_in"], "output_names": [""] * base["n_out"],
            "surrogate": hidden_text(hidden), "activation": base["activation"], "dtype": dtype}
    return {"bytes": to_bytes(module, meta), "relative": rel, "dtype": dtype}


def time_task(model: dict, n_in: int, batch: int, device: str, threads: int | None, repeats: int,
              x_mean, x_std, runtime: str = "eager") -> dict:
    """One timed trial, holding the device's lock for its whole duration."""
    import torch
    from distributed import Lock, get_worker

    from .timing import time_forward

    if threads:
        torch.set_num_threads(threads)
    saved, meta = load(io.BytesIO(model["bytes"]), device)
    module = runtime_module(saved, meta, runtime)
    host = socket.gethostname()
    with Lock(lock_name(device, host)):
        t0 = time.time()
        tm = time_forward(module, n_in, [batch], device, repeats=repeats, x_mean=x_mean, x_std=x_std,
                          dtype=model["dtype"])[0]
        t1 = time.time()
    return {"seconds": tm.seconds, "start": t0, "end": t1, "worker": get_worker().address, "host": host}


def _client(opts: SweepOptions):
    Client, LocalCluster = _client_classes()
    if opts.scheduler:
        try:
            return Client(opts.scheduler, timeout="10s"), None
        except (OSError, TimeoutError) as exc:
            raise PhasmError(f"cannot reach the Dask scheduler at {opts.scheduler!r}: {exc}") from None
    with warnings.catch_warnings():  # "port 8787 is already in use": another cluster on the machine, harmless
        warnings.simplefilter("ignore", UserWarning)
        cluster = LocalCluster(n_workers=opts.workers, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=logging.ERROR)  # not the nannies' shutdown warnings
    return Client(cluster), cluster


def connect(scheduler: str | None, workers: int = 2):
    """``(client, cluster)``: a client of the scheduler at ``scheduler``, or of a new local cluster of ``workers``
    single-threaded worker processes (``cluster``, to close after the client; ``None`` for an address)."""
    return _client(SweepOptions(scheduler=scheduler, workers=workers))


def check_scheduler(opts: SweepOptions) -> None:
    """Fail early, before the program runs: Dask missing, or the scheduler out of reach."""
    if opts.scheduler:
        client, _ = _client(opts)
        client.close()
    else:
        _client_classes()


def _client_classes():
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise PhasmError("--sweep needs Dask: pip install 'phasm-perf[dist]'") from None
    return Client, LocalCluster


def run_sweep(surrogate_path: str | Path, opts: SweepOptions,
              on_status: Callable[[str], None] | None = None,
              on_point: Callable[[str, str, list[R.SweepRow], dict], None] | None = None) -> R.SweepSummary:
    """Run the sweep around the surrogate saved at ``surrogate_path`` (its inputs, outputs, normalisation).
    ``on_point(surrogate, dtype, rows, built)`` is called for each shape and dtype once timed (``built``: the
    surrogate's saved ``bytes`` and its validation error ``relative``; tracking logs each as a run)."""
    status = on_status or (lambda m: None)
    base, data = _sweep_inputs(surrogate_path, opts)
    shapes = [parse_hidden(s) for s in opts.surrogates]
    t0 = time.perf_counter()
    workers, built, results = _run_trials(shapes, base, data, opts, status)
    overlaps = 0
    for host in {r["host"] for r in results.values()}:
        spans = sorted((r["start"], r["end"]) for r in results.values() if r["host"] == host)
        overlaps += sum(1 for a, b in zip(spans, spans[1:]) if b[0] < a[1])
    lock = lock_name(opts.device, "HOST")
    rows, notes = _sweep_rows(shapes, base, built, results, opts, on_point)
    errs = [abs(r.error) for r in rows if r.error is not None]
    if overlaps:
        raise PhasmError(f"{overlaps} timed sweep trials overlapped on {opts.device}: the lock {lock!r} did not hold")
    return R.SweepSummary(scheduler=opts.scheduler or "local", workers=workers, trials=len(results),
                          seconds=time.perf_counter() - t0, lock=lock, rows=rows, notes=notes,
                          per_batch_median_error=statistics.median(errs) if errs else None)


def _sweep_inputs(surrogate_path: str | Path, opts: SweepOptions) -> tuple[dict, dict | None]:
    """``(base, data)``: what every trial's surrogate shares with the saved one (widths of its inputs and outputs,
    activation, normalisation), and the captured samples when ``opts.train`` (else None)."""
    _module, meta = load(surrogate_path)
    norm = meta["normalisation"]
    base = {"n_in": len(meta["input_names"]), "n_out": len(meta["output_names"]),
            "activation": meta.get("activation", "relu"), "output_names": meta["output_names"],
            **{k: np.asarray(v, dtype=np.float32) for k, v in norm.items()}}
    data = None
    if opts.train:
        samples = Path(surrogate_path).with_name("samples.npz")
        if not samples.exists():
            raise PhasmError(f"--sweep-train needs the captured samples next to the surrogate ({samples})")
        with np.load(samples) as z:
            data = {"X": z["X"], "Y": z["Y"]}
    return base, data


def _run_trials(shapes: list, base: dict, data: dict | None, opts: SweepOptions, status: Callable[[str], None]):
    """``(workers, built, results)``: every shape and dtype built (and trained) on the cluster, then timed at every
    batch size, one Dask task each."""
    client, cluster = _client(opts)
    try:
        workers = len(client.scheduler_info()["workers"])
        where = opts.scheduler or f"local cluster ({workers} workers)"
        status(f"sweep on {where}: {len(shapes)} shapes x {len(opts.dtypes)} dtypes x {len(opts.batches)} batches")
        builds = {(h, d): client.submit(build_task, h, d, base, data, opts.epochs, opts.seed, pure=False)
                  for h in shapes for d in opts.dtypes}
        built = dict(zip(builds, client.gather(list(builds.values()))))
        trials = {}
        for (h, d), model in built.items():
            fut = client.scatter(model)
            for b in opts.batches:
                trials[(h, d, b)] = client.submit(time_task, fut, base["n_in"], b, opts.device, opts.threads,
                                                  opts.repeats, base["x_mean"], base["x_std"], opts.runtime,
                                                  pure=False)
        results = dict(zip(trials, client.gather(list(trials.values()))))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return workers, built, results


def _sweep_rows(shapes: list, base: dict, built: dict, results: dict, opts: SweepOptions,
                on_point: Callable[[str, str, list[R.SweepRow], dict], None] | None):
    """``(rows, notes)``: each trial measured beside the model's prediction for the same shape, dtype and batch."""
    rows = []
    notes: list[str] = []
    profile = load_profile(opts.hardware)
    for h in shapes:
        for d in opts.dtypes:
            try:
                pred = predict(profile, [base["n_in"], *h, base["n_out"]], d, opts.batches)
            except PhasmError as exc:  # e.g. the profile has no peak for this dtype: measured only
                pred = Prediction(status=f"unavailable ({exc})")
                if str(exc) not in notes:
                    notes.append(str(exc))
            for b in opts.batches:
                r = results[(h, d, b)]
                p = pred.rows[b].seconds if pred.ok else None
                rows.append(R.SweepRow(surrogate=hidden_text(h), dtype=d, batch=b,
                                       measured_seconds=r["seconds"], predicted_seconds=p,
                                       error=(p / r["seconds"] - 1) if p else None,
                                       validation_relative_error=built[(h, d)]["relative"], worker=r["worker"]))
            if on_point is not None:
                on_point("mlp:" + "x".join(map(str, h)), d, rows[-len(opts.batches):], built[(h, d)])
    return rows, notes
