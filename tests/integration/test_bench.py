"""``phasm-perf bench`` on real programs: the examples, the batch point, bad input, and a sweep on a real local
Dask cluster. Small budgets (few samples, few epochs, one or two runs) keep each case to seconds."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import EXAMPLES, run_cli

pytest.importorskip("torch")

FAST = ["--epochs", "20", "--repeats", "1", "--timing-repeats", "3", "--batch", "1,16", "--threads", "1",
        "--hardware", "epyc-7763", "-q"]


def _bench(tmp_path, function, *prog, extra=()):
    out = tmp_path / "out"
    proc = run_cli("bench", "--function", function, *FAST, *extra, "--out", out, "--", *prog, cwd=tmp_path,
                   timeout=240)
    assert proc.returncode == 0, proc.stderr
    return json.loads((out / "bench.json").read_text()), out, proc


@pytest.mark.slow
def test_bench_particles_end_to_end(tmp_path):
    report, out, proc = _bench(tmp_path, "particles:boris_push", EXAMPLES / "particles.py", "--events", "4",
                               extra=["--samples", "80", "--min-samples", "50"])
    assert report["schema_version"] == 2 and report["function"] == "particles:boris_push"
    cap = report["capture"]
    assert cap["calls"] == 100 and cap["samples"] == 80 and cap["swapped_at"] == "definition"
    # every particle starts at the origin and nsteps is fixed: vars found them constant, and the field's globals
    assert cap["input_names"] == ["vx", "vy", "vz"] and len(cap["output_names"]) == 6
    assert cap["dropped_constants"] == ["x", "y", "z", "nsteps", "R_SOLENOID", "B0", "Q_OVER_M", "DT"]
    assert [o["name"] for o in cap["outputs"]] == ["return"]
    assert any(n.startswith("left out of the surrogate's inputs") and "nsteps" in n for n in report["notes"])
    t = report["training"]
    assert t["widths"] == [3, 64, 64, 6] and t["samples_train"] + t["samples_validation"] == 80
    assert [e["name"] for e in t["errors"]] == cap["output_names"]
    # each output's statistics are consistent (mae <= rmse <= max) and the surrogate learnt the push: the
    # validation error is a few percent of each output's mean size, not the size itself
    assert all(0 < e["mae"] <= e["rmse"] <= e["max_abs"] for e in t["errors"])
    assert all(e["relative"] is not None and e["relative"] < 0.5 for e in t["errors"])
    assert [r["batch"] for r in report["per_batch"]] == [1, 16]
    for r in report["per_batch"]:
        assert r["measured_p25"] <= r["measured_seconds"] <= r["measured_p75"]
        assert r["error"] == pytest.approx(r["predicted_seconds"] / r["measured_seconds"] - 1)
    e = report["end_to_end"]
    v = e["variants"][0]
    assert v["name"] == "surrogate" and v["batches"] == {"1": 100} and v["calls_surrogate"] == 100
    assert e["measured_speedup"] == pytest.approx(e["baseline_seconds"] / e["surrogate_seconds"])
    # T' = T - n t_f + n (t_batch(1) + t_prog(1)): the datasheet profile's in-program estimate included
    t_prog = report["prediction"]["t_in_program"]
    assert t_prog > 0
    assert v["predicted_speedup"] == pytest.approx(
        e["baseline_seconds"] / (e["baseline_seconds"] - 100 * e["seconds_per_call"]
                                 + 100 * (report["per_batch"][0]["predicted_seconds"] + t_prog)))
    assert v["output_change"]["numbers"] == 1 and v["output_change"]["first_pairs"][0][0] != 0
    assert (out / "surrogate.pt2").exists() and (out / "samples.npz").exists()
    assert 'src="data:image/png;base64,' in (out / "bench.html").read_text()
    assert "time per batch" in proc.stdout and "end to end" in proc.stdout
    # a data-sheet profile has no speed probe: nothing is calibrated
    assert report["speed"] is None and report["per_batch_median_calibrated_error"] is None
    assert all(r["calibrated_error"] is None for r in report["per_batch"])


@pytest.mark.slow
def test_bench_times_the_speed_probe_beside_each_group_and_in_the_surrogate_runs_and_reports_both_errors(tmp_path):
    import statistics

    from phasm_perf.bench.run import PROBE_GROUPS
    from phasm_perf.hardware import HardwareProfile, dump, load

    prof = load("epyc-7763").model_dump()
    prof["speed_probe"] = {"seconds": 30e-6, "p10": 25e-6, "p90": 40e-6, "samples": 100, "forward": "reference"}
    path = tmp_path / "probed.yaml"
    path.write_text(dump(HardwareProfile.model_validate(prof)))
    report, _, proc = _bench(tmp_path, "heat:source_term", EXAMPLES / "heat.py", "--n", "12", "--steps", "3",
                             extra=["--samples", "300", "--repeats", "2", "--hardware", str(path)])
    sp = report["speed"]
    # one probe group before every timed group: 2 batch sizes x 3 timing repeats
    assert sp["samples"] == 6 and sp["profile_seconds"] == 25e-6 and 0 < sp["p10"] <= sp["seconds"] <= sp["p90"]
    assert sp["ratio"] == pytest.approx(sp["seconds"] / 25e-6)
    cal = []
    for r in report["per_batch"]:
        assert r["measured_at_reference"] > 0 and r["error"] is not None
        assert r["calibrated_error"] == pytest.approx(r["predicted_seconds"] / r["measured_at_reference"] - 1)
        cal.append(abs(r["calibrated_error"]))
    assert report["per_batch_median_calibrated_error"] == pytest.approx(statistics.median(cal))
    assert f"x{sp['ratio']:.2f})" in proc.stdout and "at the core's speed of the moment" in proc.stdout
    # each surrogate run timed the probe before and after the program; the prediction at that speed scales the
    # surrogate's predicted part of T' by the runs' probe ratio
    e = report["end_to_end"]
    v = e["variants"][0]
    rs = v["speed"]
    assert rs["samples"] == 2 * 2 * PROBE_GROUPS and rs["profile_seconds"] == 25e-6
    assert rs["ratio"] == pytest.approx(rs["seconds"] / 25e-6)
    n, t_f, t_b = v["calls_surrogate"], e["seconds_per_call"], report["per_batch"][0]["predicted_seconds"]
    t_prog = report["prediction"]["t_in_program"]
    assert v["predicted_speedup_at_run_speed"] == pytest.approx(
        e["baseline_seconds"] / (e["baseline_seconds"] - n * t_f + n * (t_b + t_prog) * rs["ratio"]))
    assert v["speedup_error_at_run_speed"] == pytest.approx(
        v["predicted_speedup_at_run_speed"] / v["measured_speedup"] - 1)
    assert "at the core's speed in the runs" in " ".join(proc.stdout.split())  # (the terminal wraps lines)


@pytest.mark.slow
def test_bench_heat_numpy_scalars_via_python_command(tmp_path):
    import sys

    report, _, _ = _bench(tmp_path, "heat:source_term", sys.executable, EXAMPLES / "heat.py", "--n", "12",
                          "--steps", "3", extra=["--samples", "300", "--no-swap"])
    assert report["capture"]["calls"] == 300 and report["capture"]["result_kind"] == "float"
    assert report["capture"]["input_names"] == ["u", "x", "y", "t"] and report["end_to_end"] is None
    assert report["verdict"] == "not measured"


@pytest.mark.slow
def test_bench_a_kernel_that_writes_into_its_array_argument(tmp_path):
    """Surface.refract returns None and writes its result into a row of an array: captured from what vars found
    (attributes, globals), trained, swapped in, the row written in place and the ray counter replayed."""
    report, out, proc = _bench(tmp_path, "optics:Surface.refract", EXAMPLES / "optics.py", "--exposures", "4",
                               extra=["--samples", "200"])
    cap = report["capture"]
    assert cap["calls"] == 256 and cap["samples"] == 200
    assert cap["input_names"] == [f"ray[{i}]" for i in range(5)] + ["self.temperature"]
    assert [(o["name"], o["root"], o["width"]) for o in cap["outputs"]] == [("out", "arg", 5)]
    assert cap["output_names"] == [f"out[{i}]" for i in range(5)] and cap["result_kind"] == "none"
    assert cap["counters"] == ["RAYS_TRACED"]
    assert set(cap["dropped_constants"]) == {"self.curvature", "self.n_before", "self.glass.index",
                                             "self.glass.dn_dt", "WAVELENGTHS", "CONFIG['aperture']",
                                             "CONFIG['vignetting']"}
    assert report["training"]["widths"] == [6, 64, 64, 5]
    v = report["end_to_end"]["variants"][0]
    assert v["calls_surrogate"] == 256 and v["calls_original"] == 0
    pairs = v["output_change"]["first_pairs"]  # transmission, spot x, spot y, rays: written by the surrogate
    assert pairs[-1] == [256.0, 256.0]  # the counter replayed: as many rays as the original traced
    assert pairs[0][1] != pairs[0][0] and abs(pairs[0][1] / pairs[0][0] - 1) < 0.1  # the rows were written
    assert any("replayed after each surrogate call (counters): RAYS_TRACED (+1)" in n for n in report["notes"])
    assert report["per_batch"][0]["predicted_seconds"] > 0 and report["end_to_end"]["measured_speedup"] > 0


@pytest.mark.slow
def test_bench_refuses_a_function_whose_effects_it_cannot_reproduce(tmp_path):
    (tmp_path / "noisy.py").write_text("def noisy(x):\n    print('x is', x)\n    return x + 1.0\n"
                                       "for i in range(200):\n    noisy(float(i))\n")
    proc = run_cli("bench", "--function", "noisy:noisy", *FAST, "--out", tmp_path / "o", "--", tmp_path / "noisy.py",
                   cwd=tmp_path)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert lines[0] == ("phasm-perf: error: noisy:noisy has effects a surrogate cannot reproduce: prints (print()); "
                        "bench refuses it (swap the numeric kernel it calls instead; `phasm-perf vars` lists what it "
                        "does)")
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_bench_batch_point_measures_batched_and_single(tmp_path):
    report, _, _ = _bench(tmp_path, "particles:boris_push", EXAMPLES / "particles_batched.py", "--events", "4",
                          extra=["--samples", "100"])
    assert report["capture"]["batch_points"] == {"25": 4}
    assert report["capture"]["swapped_at"] == "definition"  # an imported module, swapped as it is defined
    variants = {v["name"]: v for v in report["end_to_end"]["variants"]}
    assert variants["surrogate"]["batches"] == {"25": 4}
    assert variants["surrogate-single"]["batches"] == {"1": 100}
    assert 25 in [r["batch"] for r in report["per_batch"]]


@pytest.mark.slow
@pytest.mark.parametrize("function, prog, message", [
    ("nosuchmodule:f", "strs.py", r"unknown module 'nosuchmodule'"),
    ("strs:nope", "strs.py", r"no function 'nope' in strs\.py \(--function strs:nope\); it defines: few, label"),
    ("strs:nevr", "strs.py", r"no function 'nevr' in strs\.py \(--function strs:nevr\); did you mean never\?"),
    ("strs:never", "strs.py", r"strs:never was never called during the run"),
    ("strs:label", "strs.py", r"strs:label has no varying numeric inputs \(name is a str\)"),
    ("strs:few", "strs.py", r"too few samples to train: strs:few was called 10 time\(s\)"),
    ("strs:text", "strs.py", r"strs:text returns something that is not numeric"),
    ("strs", "strs.py", r"give MODULE:QUALNAME"),
    ("strs:few", "missing.py", r"program not found"),
])
def test_bench_bad_input_is_one_line(tmp_path, function, prog, message):
    (tmp_path / "strs.py").write_text(
        "import random\n"
        "def label(name, rng):\n    return len(name) + rng.random()\n"
        "def never(x):\n    return x\n"
        "def few(x):\n    return 2 * x\n"
        "def text(x):\n    return str(x)\n"
        "rng = random.Random(0)\n"
        "for i in range(100):\n    label('abc', rng)\n    text(i)\n"
        "for i in range(10):\n    few(float(i))\n")
    proc = run_cli("bench", "--function", function, *FAST, "--out", tmp_path / "o", "--", tmp_path / prog,
                   cwd=tmp_path)
    assert proc.returncode != 0
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert re.search(message, lines[0]), lines[0]


@pytest.mark.slow
def test_bench_unknown_hardware_fails_before_running(tmp_path):
    proc = run_cli("bench", "--function", "particles:boris_push", "--hardware", "no-such-gpu", "--",
                   EXAMPLES / "particles.py", cwd=tmp_path)
    assert proc.returncode != 0 and "unknown hardware 'no-such-gpu'" in proc.stderr
    assert not (tmp_path / "phasm-out").exists() or not any((tmp_path / "phasm-out").iterdir())


@pytest.mark.slow
def test_bench_dtype_without_a_peak_fails_before_running(tmp_path):
    proc = run_cli("bench", "--function", "particles:boris_push", "--hardware", "epyc-7763", "--dtype", "bf16",
                   "--", EXAMPLES / "particles.py", cwd=tmp_path)
    assert proc.returncode != 0 and "epyc-7763 has no bf16 peak" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_bench_sweep_on_a_local_dask_cluster(tmp_path):
    pytest.importorskip("distributed")
    report, _, _ = _bench(tmp_path, "particles:boris_push", EXAMPLES / "particles.py", "--events", "3",
                          extra=["--samples", "75", "--no-swap", "--sweep", "--sweep-surrogates", "mlp:16,mlp:32x32",
                                 "--sweep-dtypes", "fp32,bf16", "--workers", "2"])
    s = report["sweep"]
    assert s["workers"] == 2 and s["trials"] == 2 * 2 * 2 and len(s["rows"]) == 8
    assert s["lock"] == "phasm-perf-timing-HOST-cpu"
    assert {(r["surrogate"], r["dtype"], r["batch"]) for r in s["rows"]} == {
        (h, d, b) for h in ("mlp:16", "mlp:32x32") for d in ("fp32", "bf16") for b in (1, 16)}
    assert all(r["measured_seconds"] > 0 for r in s["rows"])
    assert all(r["predicted_seconds"] > 0 for r in s["rows"] if r["dtype"] == "fp32")
    # the datasheet profile has no bf16 peak: those trials are measured, their prediction is said to be missing
    assert all(r["predicted_seconds"] is None for r in s["rows"] if r["dtype"] == "bf16")
    assert any("no bf16 peak" in n for n in s["notes"])
    html = (tmp_path / "out" / "bench.html").read_text()
    assert "<h2>Sweep</h2>" in html and "mlp:32x32" in html
    # every trial ran on one of the cluster's workers (Dask addresses), and says which
    assert all(r["worker"] and r["worker"].startswith(("tcp://", "inproc://")) for r in s["rows"])


from tests.integration.test_call_counting import _interpreters  # noqa: E402  every Python here


@pytest.mark.parametrize("python", _interpreters())
def test_capture_swaps_at_definition_on_each_python(python, monkeypatch):
    """The trace-then-swap hook on every Python this machine has (3.12+ runs settrace over sys.monitoring)."""
    from phasm_perf.bench.capture import FunctionRef
    from phasm_perf.bench.runs import run_program
    from phasm_perf.collect.program import Target
    from tests.conftest import ROOT

    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # phasm-perf importable by an interpreter without it installed
    script = EXAMPLES / "particles.py"
    fn = FunctionRef("particles", "boris_push", str(script))
    run = run_program(Target([python, str(script), "--events", "2"], "python", script),
                      {"mode": "capture", "module": fn.module, "qualname": fn.qualname, "script": fn.script,
                       "budget": 30, "seed": 0})
    r = run.report
    assert r["status"] == "called" and r["swap"] == "definition" and not r["first_call_original"]
    assert r["calls"] == 50 and len(r["X"]) == 30 and all(len(x) == 7 and len(y) == 6 for x, y in zip(r["X"], r["Y"]))
    assert run.stdout.startswith("checksum ")


@pytest.mark.slow
def test_bench_sweep_on_an_existing_scheduler(tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        report, _, _ = _bench(tmp_path, "particles:boris_push", EXAMPLES / "particles.py", "--events", "3",
                              extra=["--samples", "75", "--no-swap", "--sweep", "--sweep-surrogates", "mlp:16",
                                     "--sweep-dtypes", "fp32", "--scheduler", cluster.scheduler_address])
        workers = set(cluster.scheduler_info["workers"])
    s = report["sweep"]
    assert s["scheduler"] == cluster.scheduler_address and s["workers"] == 1 and s["trials"] == 2
    assert {r["worker"] for r in s["rows"]} <= workers


@pytest.mark.slow
def test_bench_unreachable_scheduler_is_one_line(tmp_path):
    proc = run_cli("bench", "--function", "particles:boris_push", *FAST, "--samples", "75", "--no-swap", "--sweep",
                   "--scheduler", "tcp://127.0.0.1:9", "--out", tmp_path / "o", "--", EXAMPLES / "particles.py",
                   "--events", "3", cwd=tmp_path, timeout=240)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("phasm-perf: error: cannot reach the Dask scheduler"), lines
