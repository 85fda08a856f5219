"""Tracking ``bench`` runs in MLflow: the sqlite store in the output folder by default, a real ``mlflow server``
started by the test, ``--no-track``, and a server that does not answer. What is checked is read back from the
store with MLflow's own client, and the logged surrogate is loaded with ``mlflow.pyfunc`` and compared with the
``surrogate.pt2`` bench saved."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import EXAMPLES, assert_one_line_error, free_port, run_cli

pytest.importorskip("torch")
mlflow = pytest.importorskip("mlflow")

FAST = ["--epochs", "15", "--repeats", "1", "--timing-repeats", "3", "--batch", "1,16", "--threads", "1",
        "--hardware", "epyc-7763", "--samples", "80", "--min-samples", "50", "-q"]
PROG = [EXAMPLES / "particles.py", "--events", "4"]



pytestmark = pytest.mark.usefixtures("no_leaked_tracking_uri")

def _bench(tmp_path, *extra, out=None):
    out = out or tmp_path / "out"
    proc = run_cli("bench", "--function", "particles:boris_push", *FAST, *extra, "--out", out, "--", *PROG,
                   cwd=tmp_path, timeout=300)
    return proc, out


def _runs(uri: str, experiment: str):
    client = mlflow.MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(experiment)
    assert exp is not None, f"no experiment {experiment!r} in {uri}"
    return client, exp, client.search_runs([exp.experiment_id])


def _check_model(uri: str, exp, run, out):
    """The run's logged model loads with mlflow.pyfunc and predicts what the saved .pt2 predicts."""
    from phasm_perf.bench.train import load, runtime_module

    mlflow.set_tracking_uri(uri)
    models = mlflow.search_logged_models(experiment_ids=[exp.experiment_id], output_format="list")
    mine = [m for m in models if m.source_run_id == run.info.run_id]
    assert len(mine) == 1
    with np.load(out / "samples.npz") as z:
        rows = z["X"][:7].astype(np.float32)
    predicted = mlflow.pyfunc.load_model(mine[0].model_uri).predict(rows)
    module, meta = load(out / "surrogate.pt2")
    import torch

    expected = runtime_module(module, meta, "eager")(torch.from_numpy(rows)).numpy()
    assert predicted.shape == (7, len(meta["output_names"]))
    np.testing.assert_allclose(predicted, expected, rtol=1e-5, atol=1e-6)
    return mine[0]


@pytest.mark.slow
def test_bench_tracked_in_the_sqlite_store_of_its_output_folder(tmp_path):
    proc, out = _bench(tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "bench.json").read_text())
    uri = f"sqlite:///{out / 'mlflow.db'}"
    client, exp, runs = _runs(uri, "phasm-perf")
    assert len(runs) == 1
    run = runs[0]
    assert run.info.status == "FINISHED"
    p, m = run.data.params, run.data.metrics
    assert p["function"] == "particles:boris_push" and p["surrogate"] == "mlp:64x64" and p["dtype"] == "fp32"
    n_in, n_out = len(report["capture"]["input_names"]), len(report["capture"]["output_names"])
    assert p["inputs"] == str(n_in) and p["outputs"] == str(n_out) and p["hardware"] == "epyc-7763"
    assert len(p["hardware_sha256"]) == 64 and p["seed"] == "0" and p["threads"] == "1"
    assert m["validation_relative_error"] == pytest.approx(report["training"]["max_relative_error"])
    assert m["measured_speedup"] == pytest.approx(report["end_to_end"]["measured_speedup"])
    history = client.get_metric_history(run.info.run_id, "measured_seconds_per_batch")
    got = sorted((h.step, h.value) for h in history)
    assert [s for s, _ in got] == [r["batch"] for r in report["per_batch"]]
    assert [v for _, v in got] == pytest.approx([r["measured_seconds"] for r in report["per_batch"]])
    names = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"bench.json", "bench.html", "bench.png"} <= names
    model = _check_model(uri, exp, run, out)
    files = {f.path for f in client.list_logged_model_artifacts(model.model_id, "extra_files")}
    assert files == {"extra_files/surrogate.pt2"}  # the bench .pt2 kept beside the MLflow model
    assert (out / "mlartifacts").is_dir()  # artifacts beside the store, not in the working directory
    assert not (tmp_path / "mlruns").exists()


@pytest.mark.slow
def test_bench_and_sweep_points_tracked_on_a_real_server(tmp_path, mlflow_server):
    proc, out = _bench(tmp_path, "--tracking-uri", mlflow_server, "--experiment", "server-e2e", "--sweep",
                       "--sweep-surrogates", "mlp:8,mlp:16", "--sweep-dtypes", "fp32,bf16", "--sweep-train")
    assert proc.returncode == 0, proc.stderr
    client, exp, runs = _runs(mlflow_server, "server-e2e")
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 1 and len(children) == 4
    assert {r.data.tags["mlflow.parentRunId"] for r in children} == {parents[0].info.run_id}
    assert sorted((r.data.params["surrogate"], r.data.params["dtype"]) for r in children) == [
        ("mlp:16", "bf16"), ("mlp:16", "fp32"), ("mlp:8", "bf16"), ("mlp:8", "fp32")]
    report = json.loads((out / "bench.json").read_text())
    for child in children:
        rows = [r for r in report["sweep"]["rows"] if r["surrogate"] == child.data.params["surrogate"]
                and r["dtype"] == child.data.params["dtype"]]
        assert child.data.metrics["validation_relative_error"] == pytest.approx(rows[0]["validation_relative_error"])
    _check_model(mlflow_server, exp, parents[0], out)
    # a trained bf16 sweep point is a model too, and takes float32 rows like the others
    mlflow.set_tracking_uri(mlflow_server)
    bf16 = next(c for c in children if c.data.params["dtype"] == "bf16")
    models = mlflow.search_logged_models(experiment_ids=[exp.experiment_id], output_format="list")
    m = next(m for m in models if m.source_run_id == bf16.info.run_id)
    n_in, n_out = len(report["capture"]["input_names"]), len(report["capture"]["output_names"])
    y = mlflow.pyfunc.load_model(m.model_uri).predict(np.ones((3, n_in), dtype=np.float32))
    assert y.shape == (3, n_out) and y.dtype == np.float32 and np.isfinite(y).all()


@pytest.mark.slow
def test_no_track_leaves_no_store(tmp_path):
    proc, out = _bench(tmp_path, "--no-track")
    assert proc.returncode == 0, proc.stderr
    assert (out / "bench.json").exists()
    assert not (out / "mlflow.db").exists() and not (out / "mlartifacts").exists()


@pytest.mark.slow
def test_unreachable_server_is_one_line_and_the_results_are_kept(tmp_path):
    uri = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    proc, out = _bench(tmp_path, "--tracking-uri", uri)
    line = assert_one_line_error(proc)
    assert proc.returncode == 1
    assert uri in line and "unreachable" in line and "--no-track" in line and str(out) in line
    assert json.loads((out / "bench.json").read_text())["function"] == "particles:boris_push"
    assert (out / "bench.html").exists() and (out / "surrogate.pt2").exists()


def test_a_tracking_uri_mlflow_has_no_store_for_is_refused_before_the_run(tmp_path):
    proc, out = _bench(tmp_path, "--tracking-uri", "bogus://somewhere")
    line = assert_one_line_error(proc)
    assert proc.returncode == 2 and "bogus" in line and "--no-track" in line
    assert not out.exists()  # nothing ran


def test_no_track_and_tracking_uri_exclude_each_other(tmp_path):
    proc, _ = _bench(tmp_path, "--no-track", "--tracking-uri", "http://127.0.0.1:1")
    assert proc.returncode == 2 and "not allowed with argument" in proc.stderr
