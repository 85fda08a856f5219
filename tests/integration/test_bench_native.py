"""`phasm-perf bench` on compiled programs: capture, train, time the native runtime, swap into the unmodified binary;
the report's arithmetic, the binary untouched, and the refusals. Small budgets keep each case to tens of seconds."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import EXAMPLES, PROGRAMS, ROOT, assert_one_line_error, run_cli

pytest.importorskip("torch")
pytest.importorskip("frida")
pytest.importorskip("elftools")
pytestmark = pytest.mark.slow

FAST = ["--epochs", "20", "--repeats", "1", "--timing-repeats", "5", "--batch", "1,16", "--samples", "400",
        "--min-samples", "50", "--vars-calls", "3", "-q"]
NATIVE = {"runtime": "mlp-cpp", "dispatch": 5e-8, "flops": 2.0e10, "call": 2e-8, "marshal_per_number": 4e-9,
          "source": "test figures"}


@pytest.fixture(scope="module")
def fieldmap() -> Path:
    if shutil.which("g++") is None or shutil.which("make") is None:
        pytest.skip("no g++/make")
    subprocess.run(["make", "-s", "-C", str(EXAMPLES / "fieldmap")], check=True)
    return EXAMPLES / "fieldmap" / "fieldmap"


@pytest.fixture(scope="module")
def profile_file(tmp_path_factory) -> Path:
    """A CPU profile with native runtime figures (fixed, so that the prediction can be recomputed here)."""
    data = yaml.safe_load((ROOT / "hardware_profiles" / "epyc-7763.yaml").read_text())
    data["name"] = "test-native"
    data["native"] = NATIVE
    path = tmp_path_factory.mktemp("hw") / "test-native.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_bench_fieldmap_end_to_end(tmp_path, fieldmap, profile_file):
    before = _sha(fieldmap)
    out = tmp_path / "out"
    proc = run_cli("bench", "--function", "fmap::FieldMap::lookup", *FAST, "--hardware", str(profile_file),
                   "--out", out, "--", str(fieldmap), "50", "20", timeout=400)
    assert proc.returncode == 0, proc.stderr
    assert _sha(fieldmap) == before  # the binary is read, never written
    r = json.loads((out / "bench.json").read_text())
    assert r["function"] == "fmap::FieldMap::lookup" and r["device"]["runtime"] == "native-mlp"
    cap = r["capture"]
    assert cap["calls"] == 1000 and cap["samples"] == 400
    assert cap["input_names"] == ["xyz[0]", "xyz[1]", "xyz[2]"] and cap["output_names"] == ["bx", "by", "bz"]
    assert "this->strength_" in cap["constant_inputs"] and "fmap::g_config.coils" in cap["constant_inputs"]
    assert r["training"]["widths"] == [3, 64, 64, 3]
    _check_tracked_model(out, cap["input_names"])
    assert [b["batch"] for b in r["per_batch"]] == [1, 16]
    one = r["per_batch"][0]
    assert one["error"] == pytest.approx(one["predicted_seconds"] / one["measured_seconds"] - 1)
    # the model on the profile's native figures: one forward = dispatch + FLOPs / rate (compute bound here)
    flops = 2 * (3 * 64 + 64 * 64 + 64 * 3) + 2 * 64
    assert one["predicted_seconds"] == pytest.approx(NATIVE["dispatch"] + flops / NATIVE["flops"], rel=0.05)
    e = r["end_to_end"]
    sur, passing = e["variants"]
    assert (sur["name"], passing["name"]) == ("surrogate", "pass-through") and sur["calls_surrogate"] == 1000
    t_prog = one["predicted_seconds"] + NATIVE["call"] + 6 * NATIVE["marshal_per_number"]
    base = e["baseline_seconds"]
    assert sur["predicted_speedup"] == pytest.approx(base / (base - 1000 * e["seconds_per_call"] + 1000 * t_prog))
    assert sur["measured_speedup"] == pytest.approx(base / sur["seconds"])
    # the counter was written back by the shim: the program printed the same number of look-ups
    pairs = sur["output_change"]["first_pairs"]
    assert pairs[0] == [50, 50] and pairs[1] == [1000, 1000]
    assert any("counters written back exactly" in n for n in r["notes"])
    assert any("binary unchanged" in n for n in r["notes"])
    assert any(n.startswith("interception alone") for n in r["notes"])
    assert (out / "surrogate.mlp").is_file() and (out / "surrogate.pt2").is_file()
    assert "end to end" in proc.stdout


def test_bench_native_refusals_one_line(tmp_path, fieldmap):
    line = assert_one_line_error(run_cli("bench", "--function", "fmap::FieldMap::lookp", *FAST, "--hardware",
                                         "epyc-7763", "--out", tmp_path / "o", "--", str(fieldmap), "5", "5"))
    assert "close names" in line and "fmap::FieldMap::lookup" in line
    cases = tmp_path / "cases"
    subprocess.run(["g++", "-g", "-O2", "-o", str(cases), str(PROGRAMS / "native" / "vars_cases.cpp")], check=True)
    line = assert_one_line_error(run_cli("bench", "--function", "cases::square", *FAST, "--hardware", "epyc-7763",
                                         "--out", tmp_path / "o", "--", str(cases)))
    assert "inlined everywhere" in line and "noinline" in line
    line = assert_one_line_error(run_cli("bench", "--function", "cases::scale", *FAST, "--hardware", "epyc-7763",
                                         "--out", tmp_path / "o", "--", str(cases), "scale"))
    assert "cannot be captured or written back" in line and "--input 'v:double[N]'" in line
    line = assert_one_line_error(run_cli("bench", "--function", "cases::scale", *FAST, "--hardware", "epyc-7763",
                                         "--vars-input", "v:double[6]", "--out", tmp_path / "o", "--", str(cases),
                                         "crash"))
    assert "crash" in line


def test_native_costs_measured_into_a_profile(tmp_path):
    """hw measure's native part: the runtime fit and a swapped-in call, written into the profile (rank and bench read
    them from there)."""
    from phasm_perf import api
    from phasm_perf.hardware.profile import load_file

    data = yaml.safe_load((ROOT / "hardware_profiles" / "epyc-7763.yaml").read_text())
    data["name"] = "mine"
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(data))
    seen: list[str] = []
    api.ensure_native_costs(seen.append, path)
    prof = load_file(path)
    n = prof.native
    assert n is not None and n.runtime == "mlp-cpp"
    assert 1e8 < n.flops < 1e13 and 0 <= n.dispatch < 1e-5
    assert 0 <= n.call < 1e-5 and 0 <= n.marshal_per_number < 1e-6
    assert len(prof.measured["native"]["runtime_points"]) == 5
    assert any("interception" in s for s in seen)
    dev = prof.native_device(numbers=6)
    assert dev.t_in_program == pytest.approx(n.call + 6 * n.marshal_per_number) and dev.peak == n.flops
    again = api.ensure_native_costs(None, path)  # measured once: kept
    assert again.native == n


def _check_tracked_model(out: Path, input_names: list[str]) -> None:
    """The run is tracked in the output folder's store, its surrogate logged as an MLflow model that takes the
    surrogate's 3 columns (the capture's samples hold all 9 columns read, the constant ones too) and predicts what
    the saved ``.pt2`` predicts."""
    mlflow = pytest.importorskip("mlflow")
    import numpy as np
    import torch

    from phasm_perf.bench.train import load, runtime_module

    uri = f"sqlite:///{out / 'mlflow.db'}"
    client = mlflow.MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("phasm-perf")
    runs = client.search_runs([exp.experiment_id])
    assert len(runs) == 1 and runs[0].data.params["inputs"] == "3"
    saved = os.environ.get("MLFLOW_TRACKING_URI")
    try:
        mlflow.set_tracking_uri(uri)
        models = mlflow.search_logged_models(experiment_ids=[exp.experiment_id], output_format="list")
        assert len(models) == 1
        with np.load(out / "samples.npz") as z:
            names = [str(n) for n in z["input_names"]]
            rows = z["X"][:6][:, [names.index(n) for n in input_names]].astype(np.float32)
        predicted = mlflow.pyfunc.load_model(models[0].model_uri).predict(rows)
    finally:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
        if saved is not None:
            os.environ["MLFLOW_TRACKING_URI"] = saved
    module, meta = load(out / "surrogate.pt2")
    expected = runtime_module(module, meta, "eager")(torch.from_numpy(rows)).numpy()
    np.testing.assert_allclose(predicted, expected, rtol=1e-5, atol=1e-6)
