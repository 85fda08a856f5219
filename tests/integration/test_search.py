"""``phasm-perf search`` on a real program: the Pareto front and every trial in search.json (checked against the
model and against each other), the trials as MLflow child runs on a real server, the best surrogate in the registry,
a resumed study, Ctrl-C, and bad input (one line each, before the program runs)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.conftest import EXAMPLES, ROOT, assert_one_line_error, free_port, run_cli

pytest.importorskip("torch")
pytest.importorskip("optuna")
pytest.importorskip("distributed")

SMALL = ["--hardware", "epyc-7763", "--samples", "200", "--min-samples", "50", "--epochs", "60", "-q"]
PROG = ["--", EXAMPLES / "particles.py", "--events", "4"]



pytestmark = pytest.mark.usefixtures("no_leaked_tracking_uri")

def _search(tmp_path, *extra, out="out", timeout=600):
    proc = run_cli("search", "--function", "particles:boris_push", *SMALL, *extra, "--out", tmp_path / out, *PROG,
                   cwd=tmp_path, timeout=timeout)
    return proc, tmp_path / out


def _check_front(report):
    """Every front point is a complete trial that no complete trial dominates, and every other complete trial is
    dominated by one of them."""
    done = [t for t in report["trials"] if t["state"] == "complete"]
    front = {p["number"] for p in report["pareto"]}

    def dom(a, b):
        return (a["error"] <= b["error"] and a["predicted_speedup"] >= b["predicted_speedup"]
                and (a["error"] < b["error"] or a["predicted_speedup"] > b["predicted_speedup"]))

    for t in done:
        assert (t["number"] in front) == (not any(dom(o, t) for o in done)), t["number"]
    assert [p["error"] for p in report["pareto"]] == sorted(p["error"] for p in report["pareto"])


def _check_speedups(report):
    """The predicted speedup of each trial, recomputed from the capture and the model (phasm_perf.predict)."""
    from phasm_perf.model.spec import parse_hidden
    from phasm_perf.predict import predict_sweep

    c, b = report["capture"], report["batch"]
    for t in report["trials"]:
        row = predict_sweep("epyc-7763", 7, 6, parse_hidden(t["surrogate"]), t["dtype"], [b])[0]
        T, T_f, n = c["program_seconds"], c["function_seconds"], c["calls"]
        assert t["predicted_speedup"] == pytest.approx(T / (T - T_f + n * row.program_seconds_per_call))


@pytest.mark.slow
def test_search_end_to_end_tracked_on_a_server(tmp_path, mlflow_server):
    import mlflow

    proc, out = _search(tmp_path, "--trials", "6", "--measure-front", "--synthetic", "60", "--tracking-uri",
                        mlflow_server, "--experiment", "search-e2e", "-o", tmp_path / "s.json", "--html",
                        tmp_path / "s.html")
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "search.json").read_text())
    assert (tmp_path / "s.json").read_text() == (out / "search.json").read_text()
    assert report["schema_version"] == 1 and report["status"] == "complete" and report["batch"] == 1
    assert report["capture"]["held_back"] + report["capture"]["train"] == report["capture"]["samples"] == 100
    assert sum(t["state"] in ("complete", "pruned") for t in report["trials"]) == 6
    assert report["space"]["dtypes"] == ["fp32"]  # epyc-7763 prices fp32 and fp64 only
    _check_front(report)
    _check_speedups(report)
    assert report["pareto"], report["trials"]
    for p in report["pareto"]:  # --measure-front: bench's timing beside the model's
        assert p["measured_seconds_per_batch"] > 0
        assert p["time_error"] == pytest.approx(p["predicted_seconds_per_batch"] / p["measured_seconds_per_batch"] - 1)
        assert p["error_without_synthetic"] > 0  # --synthetic: the same architecture without them
    syn = report["synthetic"]
    assert syn["generated"] == 60 and syn["refused"] is None and set(syn["held_constant"]) == {"x", "y", "z", "nsteps"}
    # MLflow: one parent, a child per complete trial with its error; the most accurate front point registered
    client = mlflow.MlflowClient(tracking_uri=mlflow_server)
    exp = client.get_experiment_by_name("search-e2e")
    runs = client.search_runs([exp.experiment_id])
    parent = report["tracking"]["parent_run_id"]
    children = {r.data.params["trial"]: r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent}
    done = [t for t in report["trials"] if t["state"] == "complete"]
    assert sorted(children) == sorted(str(t["number"]) for t in done)
    for t in done:
        assert children[str(t["number"])].data.metrics["validation_relative_error"] == pytest.approx(t["error"])
    assert client.get_run(parent).info.status == "FINISHED"
    assert {a.path for a in client.list_artifacts(parent)} >= {"search.json", "search.html", "search.png"}
    reg = report["registered"]
    best = report["pareto"][0]
    assert reg["trial"] == best["number"] and reg["alias"] == "best"
    version = client.get_model_version_by_alias(reg["name"], "best")
    assert version.run_id == children[str(best["number"])].info.run_id
    mlflow.set_tracking_uri(mlflow_server)
    rows = np.load(out / "samples.npz")["X"][:5].astype(np.float32)
    got = mlflow.pyfunc.load_model(reg["model_uri"]).predict(rows)
    import torch

    from phasm_perf.bench.train import load, runtime_module

    module, meta = load(best["model_path"])
    np.testing.assert_allclose(got, runtime_module(module, meta, "eager")(torch.from_numpy(rows)).numpy(),
                               rtol=1e-5, atol=1e-6)
    page = (tmp_path / "s.html").read_text()
    assert 'src="data:image/png;base64,' in page and "particles:boris_push" in page and "Pareto front" in page
    assert "Pareto front" in proc.stdout and "registered:" in proc.stdout


@pytest.mark.slow
def test_a_study_continues_where_it_stopped_and_refuses_other_options(tmp_path):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    common = ["--study", "s1", "--storage", storage, "--no-track"]
    proc, out = _search(tmp_path, "--trials", "2", *common, out="a")
    assert proc.returncode == 0, proc.stderr
    first = json.loads((out / "search.json").read_text())
    proc, out = _search(tmp_path, "--trials", "4", *common, out="b")
    assert proc.returncode == 0, proc.stderr
    second = json.loads((out / "search.json").read_text())
    counted = [t for t in second["trials"] if t["state"] in ("complete", "pruned")]
    assert len(counted) == 4 and {t["session"] for t in counted} == {0, 1}
    kept = {t["number"]: t for t in second["trials"]}
    for t in first["trials"]:  # the first session's trials are in the second report, unchanged
        assert kept[t["number"]]["error"] == t["error"] and kept[t["number"]]["surrogate"] == t["surrogate"]
    proc, out = _search(tmp_path, "--trials", "5", "--widths", "8,16", *common, out="c")
    line = assert_one_line_error(proc)
    assert "s1" in line and "another space" in line and not (out / "samples.npz").exists()


@pytest.mark.slow
def test_ctrl_c_keeps_the_finished_trials(tmp_path):
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "phasm_perf", "search", "--function", "particles:boris_push", "--trials", "300",
           "--no-prune", "--no-track", *SMALL[:-1], "--epochs", "400", "-q", "--out", str(out), "--",
           str(EXAMPLES / "particles.py"), "--events", "4"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        trials = out / "trials"
        if trials.is_dir() and len(list(trials.glob("*.pt2"))) >= 2:
            break
        time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=240)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "continue with --study" in stderr
    report = json.loads((out / "search.json").read_text())
    assert report["status"] == "interrupted"
    assert sum(t["state"] == "complete" for t in report["trials"]) >= 2
    assert all(t["state"] != "complete" or os.path.exists(t["model_path"]) for t in report["trials"])


def _refused(tmp_path, *args):
    proc, out = _search(tmp_path, *args, timeout=120)
    line = assert_one_line_error(proc)
    assert not (out / "samples.npz").exists()  # refused before the program ran
    return proc, line


def test_zero_trials_is_a_usage_error(tmp_path):
    proc, line = _refused(tmp_path, "--trials", "0")
    assert proc.returncode == 2 and "at least 1 trial" in line


def test_a_malformed_storage_url_is_one_line(tmp_path):
    _, line = _refused(tmp_path, "--storage", "not a url", "--no-track")
    assert "--storage" in line and "database URL" in line
    _, line = _refused(tmp_path, "--storage", "sqlite:////nonexistent-dir/x/y.db", "--no-track")
    assert "--storage" in line


def test_a_space_empty_after_constraints_is_one_line(tmp_path):
    _, line = _refused(tmp_path, "--dtypes", "fp16,bf16", "--no-track")
    assert "empty after constraints" in line and "fp32" in line


def test_unknown_objectives_are_one_line(tmp_path):
    _, line = _refused(tmp_path, "--objectives", "error,latency", "--no-track")
    assert "--objectives" in line


def test_an_unreachable_scheduler_is_one_line(tmp_path):
    _, line = _refused(tmp_path, "--scheduler", f"tcp://127.0.0.1:{free_port()}", "--no-track")
    assert "Dask scheduler" in line


def test_a_study_of_another_function_is_refused(tmp_path):
    from phasm_perf.search.optuna import Study
    from phasm_perf.search.space import Space

    storage = f"sqlite:///{tmp_path / 'study.db'}"
    space = Space().constrained(["fp64", "fp32"], 60)
    Study("shared", storage, ["error", "speedup"], "tpe", 0, 5,
          {"function": "particles:field_at", "space": space.signature(), "objectives": ["error", "speedup"],
           "hardware": "epyc-7763", "batch": "program", "synthetic": 0})
    _, line = _refused(tmp_path, "--study", "shared", "--storage", storage, "--no-track")
    assert "another function" in line and "particles:field_at" in line


def test_a_connection_reset_cut_by_ctrl_c_prints_no_traceback(tmp_path):
    """SQLAlchemy's pool logs a reset that Ctrl-C cut short with a traceback (``_finalize_fairy``; CI saw it in
    ``test_ctrl_c_keeps_the_finished_trials``): in a process with a study open, that log line is not printed."""
    code = (
        "import logging\n"
        "from phasm_perf.search.optuna import Study\n"
        "from phasm_perf.search.space import Space\n"
        "space = Space().constrained(['fp64', 'fp32'], 60)\n"
        f"Study('s', 'sqlite:///{tmp_path / 'study.db'}', ['error', 'speedup'], 'tpe', 0, 5,\n"
        "      {'function': 'particles:boris_push', 'space': space.signature(), 'objectives': ['error', 'speedup'],\n"
        "       'hardware': 'epyc-7763', 'batch': 'program', 'synthetic': 0})\n"
        "pool = logging.getLogger('sqlalchemy.pool.impl.QueuePool')  # the logger _finalize_fairy writes through\n"
        "try:\n"
        "    raise KeyboardInterrupt\n"
        "except KeyboardInterrupt:\n"
        "    pool.error('Exception during reset or similar', exc_info=True)\n"
        "logging.getLogger('phasm.check').error('still printed')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert proc.returncode == 0, proc.stderr
    assert "still printed" in proc.stderr                          # other errors still reach stderr
    assert "Traceback" not in proc.stderr and "Exception during reset" not in proc.stderr


@pytest.fixture
def dask_processes(tmp_path):
    """A Dask scheduler and one worker started as separate processes (``dask scheduler``, ``dask worker``), as on
    a cluster's nodes; yields the scheduler address."""
    import shutil

    exe = shutil.which("dask", path=os.path.dirname(sys.executable)) or shutil.which("dask")
    if exe is None:
        pytest.skip("the dask command is not installed")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = [(tmp_path / n).open("wb") for n in ("scheduler.log", "worker.log")]
    env = dict(os.environ, PYTHONPATH=str(ROOT))  # the workers import phasm_perf, as a cluster's would
    procs = [subprocess.Popen([exe, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                              stdout=logs[0], stderr=subprocess.STDOUT, env=env, start_new_session=True)]
    time.sleep(3)
    procs.append(subprocess.Popen([exe, "worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard"],
                                  stdout=logs[1], stderr=subprocess.STDOUT, env=env, start_new_session=True))
    try:
        from distributed import Client

        with Client(address, timeout="30s") as c:
            c.wait_for_workers(1, timeout=60)
        yield address
    finally:
        for p in reversed(procs):
            os.killpg(p.pid, signal.SIGTERM)
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        for f in logs:
            f.close()


@pytest.mark.slow
def test_search_on_a_separately_started_scheduler_and_worker(tmp_path, dask_processes):
    proc, out = _search(tmp_path, "--trials", "3", "--scheduler", dask_processes, "--no-track")
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "search.json").read_text())
    assert report["scheduler"] == dask_processes and report["workers"] == 1
    assert sum(t["state"] in ("complete", "pruned") for t in report["trials"]) == 3
    assert (tmp_path / "worker.log").read_text().count("Start worker") >= 1
