"""``phasm-perf vars`` on real programs: the exact variables of each kind, their ranges and constancy, batching,
every Python this machine has, and bad input (one line each)."""

from __future__ import annotations

import glob
import json
import os
import re

import pytest

from tests.conftest import EXAMPLES, PROGRAMS, ROOT, assert_one_line_error, run_cli
from tests.integration.test_call_counting import _interpreters


def _pythons() -> list[str]:
    """Every Python here from 3.10 on: 3.10 and 3.11 observe with sys.settrace, 3.12+ with sys.monitoring."""
    found = set(_interpreters())
    exe = next(iter(sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.10*/bin/python3.10")))), None)
    return sorted(found | ({exe} if exe else set()))


def _vars(*args, cwd=None, env=None) -> dict:
    proc = run_cli("vars", "--format", "json", *args, cwd=cwd, env=env, timeout=240)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _table(variables: list[dict]) -> dict:
    return {v["name"]: (v["kind"], v["direction"], v["constant"]) for v in variables}


@pytest.mark.slow
def test_optics_refract_reads_attributes_tables_and_writes_its_array_argument():
    r = _vars("--function", "optics:Surface.refract", "--", EXAMPLES / "optics.py", "--exposures", "6")
    assert r["schema_version"] == 1 and r["language"] == "python" and r["function"] == "optics:Surface.refract"
    assert r["calls"] == 6 * 64 and 64 < r["observed_calls"] < r["calls"]
    assert _table(r["inputs"]) == {
        **{f"ray[{i}]": ("element", "in", False) for i in range(5)},
        "self.curvature": ("attribute", "in", True), "self.n_before": ("attribute", "in", True),
        "self.temperature": ("attribute", "in", False),  # the lamp heats the lens: it drifts
        "self.glass.index": ("attribute", "in", True),  # read by the callee index_at(glass, ...)
        "self.glass.dn_dt": ("attribute", "in", True),
        "WAVELENGTHS": ("global", "in", True), "CONFIG['aperture']": ("global", "in", True),
        "CONFIG['vignetting']": ("global", "in", True), "RAYS_TRACED": ("global", "inout", False)}
    assert _table(r["outputs"]) == {"out": ("argument", "out", False), "RAYS_TRACED": ("global", "inout", False)}
    by = {v["name"]: v for v in r["inputs"]}
    assert 420 <= by["ray[4]"]["min"] < by["ray[4]"]["max"] <= 680
    t = by["self.temperature"]
    assert t["min"] == 20.0 and 20.0 < t["max"] <= 22.5 and (t["max"] * 2).is_integer()
    w = by["WAVELENGTHS"]
    assert (w["dtype"], w["shape"], w["size"], w["bytes"], w["min"], w["max"]) == ("float64", [7], 7, 56, 404.7, 706.5)
    assert by["RAYS_TRACED"]["counter"] == 1.0 and by["RAYS_TRACED"]["min"] == 0
    assert [v["in_signature"] for v in r["inputs"] if v["kind"] == "global"] == [False] * 4
    out = next(v for v in r["outputs"] if v["name"] == "out")
    assert (out["dtype"], out["shape"], out["size"], out["bytes"]) == ("float64", [5], 5, 40)
    assert r["summary"] == {"input_size": 6, "output_size": 5, "input_bytes": 48, "output_bytes": 40,
                            "constant_inputs": 19, "outside_signature": pytest.approx(10 / 26)}
    assert r["batching"]["dependent"] is False and r["batching"]["independent_calls"] == 64
    assert r["effects"] == [] and r["unresolved"] == []


@pytest.mark.slow
def test_markdown_to_a_file_and_the_table(tmp_path):
    dest = tmp_path / "vars.md"
    proc = run_cli("vars", "--function", "optics:Surface.refract", "--format", "markdown", "-o", dest, "--",
                   EXAMPLES / "optics.py", "--exposures", "2")
    assert proc.returncode == 0 and proc.stdout == "", proc.stderr
    md = dest.read_text()
    assert md.startswith("# Inputs and outputs of `optics:Surface.refract`")
    assert "| CONFIG['aperture'] | global* | in | float64 | scalar | 1 | 8 | 12.5 | yes |" in md
    assert "| out | argument | out | float64 | 5 | 5 | 40 |" in md
    table = run_cli("vars", "--function", "optics:Surface.refract", "--", EXAMPLES / "optics.py", "--exposures",
                    "2")
    assert table.returncode == 0 and "self.glass.index" in table.stdout and "64 independent calls" in table.stdout


@pytest.mark.slow
def test_particles_boris_push_and_its_field_map():
    r = _vars("--function", "particles:boris_push", "--", EXAMPLES / "particles.py", "--events", "4")
    args = {n: ("argument", "in", n in ("x", "y", "z", "nsteps")) for n in ("x", "y", "z", "vx", "vy", "vz", "nsteps")}
    consts = {n: ("global", "in", True) for n in ("B0", "R_SOLENOID", "Q_OVER_M", "DT")}  # through field_at too
    assert _table(r["inputs"]) == {**args, **consts}
    assert _table(r["outputs"]) == {"return": ("return", "out", False)}
    ret = r["outputs"][0]
    assert (ret["shape"], ret["size"], ret["bytes"]) == ([6], 6, 48)
    assert r["batching"]["dependent"] is False and r["batching"]["independent_calls"] == 25
    field = _vars("--function", "particles:field_at", "--calls", "8", "--", EXAMPLES / "particles.py", "--events",
                  "1", "--particles", "4", "--steps", "300")
    assert _table(field["inputs"]) == {"x": ("argument", "in", False), "y": ("argument", "in", False),
                                       "z": ("argument", "in", False), "B0": ("global", "in", True),
                                       "R_SOLENOID": ("global", "in", True)}
    assert field["calls"] == 1200 and field["observed_calls"] < 40  # all of the first 8, then thinning


@pytest.mark.slow
def test_heat_relax_depends_on_the_previous_call():
    r = _vars("--function", "heat:relax", "--", EXAMPLES / "heat.py", "--n", "16", "--steps", "8")
    assert _table(r["inputs"]) == {"u": ("argument", "in", False), "f": ("argument", "in", False),
                                   "dt": ("argument", "in", True), "ALPHA": ("global", "in", True),
                                   "SWEEPS": ("global", "in", True)}
    b = r["batching"]
    assert b["dependent"] is True and b["independent_calls"] == 1
    assert b["note"].startswith("calls depend on each other: batch 1 unless the loop is restructured")
    assert any(c.startswith("return -> u (same object") for c in b["chains"])
    src = _vars("--function", "heat:source_term", "--", EXAMPLES / "heat.py", "--n", "16", "--steps", "8")
    assert src["batching"]["dependent"] is False and src["batching"]["independent_calls"] == 14 * 14


@pytest.mark.parametrize("python", _pythons())
def test_every_kind_on_each_python(python):
    """A numpy-free legacy kernel on every Python here (3.12+ observe through sys.monitoring)."""
    env = {"PYTHONPATH": str(ROOT)}  # phasm-perf importable by an interpreter without it installed
    r = _vars("--function", "legacy:step", "--", python, PROGRAMS / "legacy.py", "20", env=env)
    assert _table(r["inputs"]) == {
        "t": ("argument", "in", False), "xs[0]": ("element", "in", False), "xs[1]": ("element", "in", False),
        "stage.k": ("attribute", "in", False), "stage.cfg.scale": ("attribute", "in", True),
        "TABLE['gain']": ("global", "in", True), "TABLE['offset']": ("global", "in", True),
        "LUT[2]": ("global", "in", True), "CALLS": ("global", "inout", False)}
    assert _table(r["outputs"]) == {"out": ("argument", "out", False), "stage.last": ("attribute", "out", False),
                                    "CALLS": ("global", "inout", False), "return": ("return", "out", False)}
    by = {v["name"]: v for v in r["inputs"]}
    assert (by["xs[1]"]["min"], by["xs[1]"]["max"]) == (1.0, 20.0) and by["stage.k"]["min"] == 1.5
    assert by["CALLS"]["counter"] == 1.0 and r["calls"] == 160
    assert r["batching"] == {"dependent": False, "chains": [], "independent_calls": 8,
                             "note": r["batching"]["note"]}
    closure = _vars("--function", "legacy:make_scaler.<locals>.scale", "--", python, PROGRAMS / "legacy.py", "20",
                    env=env)
    assert _table(closure["inputs"]) == {"v": ("argument", "in", False), "bias": ("closure", "in", True)}
    assert any("swapped at its first call" in n for n in closure["notes"])


@pytest.mark.slow
def test_event_loop_groups_the_calls_of_an_iteration():
    r = _vars("--function", "particles:boris_push", "--event-loop", "run", "--", EXAMPLES / "particles.py",
              "--events", "5", "--particles", "6", "--steps", "50")
    assert r["batching"]["independent_calls"] == 6
    r = _vars("--function", "particles:boris_push", "--event-loop", "no_such_loop", "--", EXAMPLES / "particles.py",
              "--events", "5", "--particles", "6", "--steps", "50")
    assert "was not found above the calls" in r["batching"]["note"]


BAD = """import sys
def f(x):
    return x * 2.0
def never(x):
    return x
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)
def work(k):
    return fib(k)
def noisy(x):
    print("x is", x)
    return x + 1.0
def crash(x):
    if x > 40:
        raise ValueError("boom")
    return x * 3.0
what = sys.argv[1] if len(sys.argv) > 1 else ""
for i in range(100):
    f(float(i))
    if what == "fib": work(8)
    if what == "noisy": noisy(float(i))
    if what == "crash": crash(float(i))
"""


@pytest.mark.slow
@pytest.mark.parametrize("function, arg, code, message", [
    ("bad:fi", "", 2, r"no function 'fi' in bad\.py \(--function bad:fi\); did you mean fib, f\?"),
    ("bad:nope", "", 2, r"no function 'nope' in bad\.py .*it defines: crash, f, fib, never, noisy, work"),
    ("nomod:f", "", 2, r"unknown module 'nomod'"),
    ("bad:never", "", 1, r"bad:never was never called during the run: nothing to observe"),
    ("bad:fib", "fib", 1, r"bad:fib calls itself \(recursion, at call 2\).*instead \(bad:work\)"),
    ("bad", "", 2, r"give MODULE:QUALNAME"),
])
def test_bad_input_is_one_line(tmp_path, function, arg, code, message):
    (tmp_path / "bad.py").write_text(BAD)
    proc = run_cli("vars", "--function", function, "--", tmp_path / "bad.py", *([arg] if arg else []), cwd=tmp_path)
    line = assert_one_line_error(proc)
    assert proc.returncode == code and re.search(message, line), line
    assert proc.stdout == ""


@pytest.mark.slow
def test_a_crash_under_observation_keeps_what_was_observed(tmp_path):
    (tmp_path / "bad.py").write_text(BAD)
    dest = tmp_path / "partial.json"
    proc = run_cli("vars", "--function", "bad:crash", "--format", "json", "-o", dest, "--", tmp_path / "bad.py",
                   "crash", cwd=tmp_path)
    line = assert_one_line_error(proc)
    assert proc.returncode == 3 and "exited with status 1 under observation after 42 call(s)" in line
    assert "what was observed in 41 of them is reported" in line and "ValueError: boom" in line
    r = json.loads(dest.read_text())
    assert r["calls"] == 42 and r["observed_calls"] == 41 and _table(r["inputs"]) == {"x": ("argument", "in", False)}
    assert any("raised an exception" in n for n in r["notes"])


@pytest.mark.slow
def test_effects_are_listed(tmp_path):
    (tmp_path / "bad.py").write_text(BAD)
    r = _vars("--function", "bad:noisy", "--", tmp_path / "bad.py", "noisy", cwd=tmp_path)
    assert r["effects"] == ["prints (print())"]


def test_a_program_neither_python_nor_compiled_is_refused(tmp_path):
    script = tmp_path / "run.sh"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o755)
    proc = run_cli("vars", "--function", "m:f", "--", script)
    assert "needs a Python program" in assert_one_line_error(proc) and proc.returncode == 2
    proc = run_cli("vars", "--function", "legacy:step", "--input", "x:double[2]", "--", PROGRAMS / "legacy.py")
    assert "--input and --output say what a C/C++ pointer points to" in assert_one_line_error(proc)
