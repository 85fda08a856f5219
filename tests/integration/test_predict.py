"""`hw`, `predict` and `rank --hardware` as a user runs them, reading their real output."""

from __future__ import annotations

import json
import math

import pytest
import yaml

from phasm_perf.hardware import load_file
from phasm_perf.predict import predict_sweep
from tests.conftest import EXAMPLES, PROGRAMS
from tests.unit.test_hardware import REQUIRED


def test_hw_list_names_every_shipped_profile(cli):
    out = cli("hw", "list", "--format", "json", check=True).stdout
    rows = {r["name"]: r for r in json.loads(out)}
    assert set(REQUIRED) <= set(rows)
    assert rows["a100-40gb-sxm"]["peak_flops"]["tf32"] == 156e12
    table = cli("hw", "list", check=True).stdout
    assert all(name in table for name in REQUIRED)


def test_hw_show_gives_every_figure_with_its_source(cli):
    shown = json.loads(cli("hw", "show", "h100-sxm", "--format", "json", check=True).stdout)
    assert shown["memory"][-1]["name"] == "HBM3" and "datasheet" in shown["memory"][-1]["source"]
    text = cli("hw", "show", "h100-sxm", check=True).stdout
    assert "peak bf16" in text and "990 TFLOP/s" in text and "PCIe 5.0" in text
    assert yaml.safe_load(cli("hw", "show", "t4", "--format", "yaml", check=True).stdout)["name"] == "t4"


@pytest.mark.parametrize("args, expect", [
    (["hw", "show", "a100"], "did you mean a100-40gb-sxm"),
    (["hw", "show", "no-such.yaml"], "not found"),
    (["hw"], "hw needs an action"),
    (["predict", "--hardware", "h10", "--inputs", "3", "--outputs", "3"], "did you mean h100"),
    (["predict", "--hardware", "t4", "--inputs", "3", "--outputs", "3", "--dtype", "bf16"], "t4 has no bf16 peak"),
    (["predict", "--hardware", "t4", "--inputs", "3", "--outputs", "3", "--surrogate", "cnn:3"], "mlp:HIDDEN"),
    (["predict", "--hardware", "t4", "--inputs", "3", "--outputs", "3", "--batch", "8,x"], "--batch"),
    (["predict", "--hardware", "t4", "--inputs", "0", "--outputs", "3"], "give a whole number >= 1"),
    (["predict", "--hardware", "t4", "--inputs", "3", "--outputs", "3", "--runtime", "jit"], "runtime 'jit' is not known"),
    (["hw", "measure", "--runtimes", "eager,aoti"], "aoti runs from C++"),
    (["bench", "--function", "short:f", "--runtime", "compile", "--", str(PROGRAMS / "short.py")],
     "bench runs a surrogate as eager or export"),
])
def test_bad_input_is_one_line_and_a_non_zero_exit(cli, args, expect):
    proc = cli(*args)
    assert proc.returncode == 2
    assert expect in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_predict_json_matches_the_library_and_is_consistent(cli, tmp_path):
    out = tmp_path / "p.json"
    cli("predict", "--hardware", "a100-80gb-pcie", "--inputs", "7", "--outputs", "6", "--surrogate", "mlp:64x64",
        "--batch", "1,64,4096,65536", "--format", "json", "-o", out, check=True)
    rep = json.loads(out.read_text())
    assert rep["schema_version"] == 2 and rep["surrogate"] == "mlp:64x64" and rep["parameters"] == 5062
    assert rep["runtime"] == "eager" and rep["tables"] is False
    lib = predict_sweep("a100-80gb-pcie", 7, 6, (64, 64), "fp32", [1, 64, 4096, 65536])
    for row, want in zip(rep["per_batch"], lib):
        assert row["batch"] == want.batch
        assert row["seconds_per_call"] == pytest.approx(want.seconds_per_call)
        assert row["seconds_per_batch"] == pytest.approx(row["seconds_per_call"] * row["batch"])
        assert row["bound"] == want.bound
        assert 0 < row["utilisation"] < 1
    per_call = [r["seconds_per_call"] for r in rep["per_batch"]]
    assert per_call == sorted(per_call, reverse=True)
    table = cli("predict", "--hardware", "xeon-8380", "--inputs", "7", "--outputs", "6", "--batch", "1-8",
                check=True).stdout
    assert "latency" in table and "mlp:64x64" in table


def test_hw_measure_quick_writes_a_profile_predict_can_use(cli, tmp_path):
    pytest.importorskip("torch")
    dest = tmp_path / "local.yaml"
    # one thread: timed on the thread's CPU clock, the figures hold up on a machine shared with other work
    proc = cli("hw", "measure", "--quick", "--threads", "1", "--retries", "0", "--runtimes", "eager,functional",
               "-o", dest, check=True)
    assert "wrote" in proc.stderr
    prof = load_file(dest)
    assert prof.kind == "cpu" and prof.link is None
    assert {"fp64", "fp32", "bf16"} <= set(prof.dtypes())
    assert prof.memory[-1].name == "DRAM" and prof.memory[0].bandwidth >= prof.memory[-1].bandwidth
    assert prof.measured["cuda"].startswith("unavailable (")
    assert prof.dispatch.value > 0 and prof.launch_latency.value > 0
    assert len(prof.measured["triad_sweep"]) >= 8
    # the cost tables, each runtime's costs, and how the measurement went (load per step, spread, flags)
    assert set(prof.tables.linear) == {"fp32", "bf16"} and set(prof.tables.activation["fp32"].seconds) == \
        {"relu", "silu", "tanh", "gelu"}
    assert set(prof.runtimes) == {"eager", "functional"}
    assert {"peak", "memory", "linear.fp32", "runtime", "in_program"} <= set(prof.quality.load)
    assert all(f.reason for f in prof.quality.flags)
    # the speed probe ran between the groups of the tables, runtimes and in-program steps (one group every 20 ms
    # at most): hundreds of groups, their median between their 10th and 90th percentiles
    sp = prof.speed_probe
    assert sp is not None and sp.samples >= 100 and 0 < sp.p10 <= sp.seconds <= sp.p90 < 1e-3
    assert "6-64-64-3" in sp.forward
    if prof.quality.flags:  # a loaded machine: hw measure said so on stderr
        assert "flagged as unreliable" in proc.stderr
    env = {"PHASM_PERF_LOCAL_PROFILE": str(dest)}
    rep = json.loads(cli("predict", "--hardware", "local", "--inputs", "7", "--outputs", "6", "--batch", "1,1024",
                         "--format", "json", env=env, check=True).stdout)
    assert rep["hardware"] == "local" and rep["tables"] is True
    if not prof.quality.flags:  # a tiny MLP at batch 1 is all fixed costs (unless the measurement was disturbed)
        assert rep["per_batch"][0]["bound"] == "latency"
    assert rep["flags"] == [f"{f.figure}: {f.reason}" for f in prof.quality.flags
                            if f.figure not in ("linear.bf16", "activation.bf16", "runtime.functional")]
    fn = json.loads(cli("predict", "--hardware", "local", "--inputs", "7", "--outputs", "6", "--batch", "1",
                        "--runtime", "functional", "--format", "json", env=env, check=True).stdout)
    assert fn["runtime"] == "functional" and fn["dispatch_seconds"] == prof.runtimes["functional"].forward
    text = cli("predict", "--hardware", "local", "--inputs", "7", "--outputs", "6", "--batch", "1",
               "--runtime", "inference", env=env, check=True).stdout
    assert "in the inference runtime" in text and "no figures for the inference runtime" in text
    assert "DRAM" in cli("hw", "show", "local", env=env, check=True).stdout


@pytest.mark.slow
def test_local_is_measured_on_first_use_and_says_so_on_stderr(cli, tmp_path):
    pytest.importorskip("torch")
    dest = tmp_path / "cache" / "local.yaml"
    env = {"PHASM_PERF_LOCAL_PROFILE": str(dest), "PHASM_PERF_MEASURE_QUICK": "1"}
    proc = cli("predict", "--hardware", "local", "--inputs", "3", "--outputs", "3", "--batch", "1", env=env,
               check=True)
    said = " ".join(proc.stderr.split())
    assert "measuring this machine for the 'local' hardware (no profile of this machine yet)" in said
    assert f"cached in {dest}" in said and " s on a quiet machine" in said
    assert dest.exists() and "in the eager runtime on local" in proc.stdout
    again = cli("predict", "--hardware", "local", "--inputs", "3", "--outputs", "3", "--batch", "1", env=env,
                check=True)
    assert "measuring" not in again.stderr


@pytest.mark.slow
def test_rank_predicts_each_candidate_and_writes_an_html_report(cli, tmp_path):
    report = tmp_path / "report.html"
    out = tmp_path / "rank.json"
    cli("rank", "--event-loop", "run", "--hardware", "a100-40gb-sxm", "--surrogate", "mlp:32x32", "--html", report,
        "-o", out, "--bundle", tmp_path / "b", str(EXAMPLES / "particles.py"), "--events", "6", "--steps", "400",
        check=True)
    rep = json.loads(out.read_text())
    boris = next(c for c in rep["candidates"] if c["function"] == "boris_push")
    p = boris["predicted"]
    assert (p["inputs"], p["outputs"], p["io_source"]) == (7, 6, "captured")
    assert p["surrogate"] == "mlp:32x32" and p["hardware"] == "a100-40gb-sxm"
    assert p["best_batch"] == max(r["batch"] for r in p["per_batch"]) <= boris["calls"]
    assert p["speedup"] <= boris["amdahl_limit"]
    s_acc = p["serial_fraction"]  # of the accelerated run: (T - T_f) / T'
    assert s_acc == pytest.approx((1 - boris["share"]) * p["speedup"], rel=1e-6)
    assert p["gustafson_speedup"] == pytest.approx(s_acc + (1 - s_acc) * p["kernel_speedup"])
    assert p["runtime"] == "eager"
    assert p["break_even_batch"] is None or p["break_even_batch"] in [r["batch"] for r in p["per_batch"]]
    html = report.read_text()
    assert "<svg" in html and "boris_push" in html and "http" not in html.split("<svg")[0].split("<style>")[0]


@pytest.mark.slow
def test_rank_html_escapes_function_names(cli, tmp_path):
    prog = tmp_path / "lam.py"
    prog.write_text("import math\nwork = lambda x: sum(math.sin(x + k) for k in range(2000))\n"
                    "def run():\n    return sum(work(i) for i in range(300))\nrun()\n")
    report = tmp_path / "r.html"
    cli("rank", "--event-loop", "run", "--hardware", "t4", "--inputs", "1", "--outputs", "1", "--html", report,
        "--bundle", tmp_path / "b", "--format", "json", prog, check=True)
    html = report.read_text()
    assert "&lt;lambda&gt;" in html and "<lambda>" not in html


def test_rank_fails_fast_on_unknown_hardware(cli, tmp_path):
    proc = cli("rank", "--hardware", "a1000", str(PROGRAMS / "short.py"))
    assert proc.returncode == 2 and "unknown hardware 'a1000'" in proc.stderr
    assert not (tmp_path / "phasm-out").exists()
    proc = cli("rank", "--inputs", "3", str(PROGRAMS / "short.py"))
    assert proc.returncode == 2 and "add --hardware" in proc.stderr


@pytest.mark.slow
def test_rank_vars_observes_the_top_candidates_and_caps_the_batch(cli, tmp_path):
    """`rank --vars 2`: boris_push is observed (its inputs: the particle's state, constants left out; 25 particles
    per event, each pushed once per event, so at most 25 calls form a batch) and its prediction says so."""
    out = tmp_path / "rank.json"
    cli("rank", "--hardware", "a100-40gb-sxm", "--vars", "2", "-o", out, "--bundle", tmp_path / "b",
        str(EXAMPLES / "particles.py"), "--events", "6", "--steps", "400", check=True)
    rep = json.loads(out.read_text())
    by_name = {c["function"]: c for c in rep["candidates"]}
    p = by_name["boris_push"]["predicted"]
    assert p["io_source"] == "vars" and p["independent_calls"] == 25
    assert max(r["batch"] for r in p["per_batch"]) <= 25 and p["best_batch"] <= 25
    assert any(n.startswith("boris_push: vars found") and "25 independent calls" in n for n in rep["notes"])
    # the counted sizes (7 in, 6 out) are what the prediction had without --vars; vars leaves the constants out
    assert (p["inputs"], p["outputs"]) != (7, 6) and p["outputs"] == 6


def test_rank_vars_needs_a_python_program_and_a_hardware(cli, tmp_path):
    proc = cli("rank", "--vars", "1", str(PROGRAMS / "short.py"))
    assert proc.returncode == 2 and "add --hardware" in proc.stderr
    bundle = tmp_path / "b"
    bundle.mkdir()
    proc = cli("rank", "--hardware", "t4", "--vars", "1", str(bundle))
    assert proc.returncode == 2 and "not a profile" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
