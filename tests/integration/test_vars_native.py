"""`phasm-perf vars` on compiled programs: the exact variable lists of the examples, and every refusal in one line."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, PROGRAMS, assert_one_line_error, run_cli

pytest.importorskip("frida")
pytest.importorskip("elftools")
pytestmark = pytest.mark.slow


def _make(folder: Path, name: str) -> Path:
    if shutil.which("g++") is None or shutil.which("make") is None:
        pytest.skip("no g++/make")
    subprocess.run(["make", "-s", "-C", str(folder)], check=True)
    return folder / name


@pytest.fixture(scope="module")
def fieldmap() -> Path:
    return _make(EXAMPLES / "fieldmap", "fieldmap")


@pytest.fixture(scope="module")
def shower() -> Path:
    return _make(EXAMPLES / "shower", "shower")


@pytest.fixture(scope="module")
def cases(tmp_path_factory) -> Path:
    if shutil.which("g++") is None:
        pytest.skip("no g++")
    out = tmp_path_factory.mktemp("vars") / "vars_cases"
    subprocess.run(["g++", "-g", "-O2", "-o", str(out), str(PROGRAMS / "native" / "vars_cases.cpp")], check=True)
    return out


def _vars(*args) -> dict:
    proc = run_cli("vars", "--format", "json", *args, timeout=240)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _rows(items) -> list[tuple]:
    return [(v["name"], v["kind"], v["direction"], v["dtype"], v["size"], v["constant"]) for v in items]


def test_fieldmap_every_kind(fieldmap):
    r = _vars("--function", "fmap::FieldMap::lookup", "--calls", "12", "--", str(fieldmap), "30", "20")
    assert r["language"] == "native" and r["function"] == "fmap::FieldMap::lookup"
    assert r["calls"] == 600 and r["observed_calls"] == 12
    assert _rows(r["inputs"]) == [
        ("xyz[0:3]", "pointer", "in", "float64", 3, False),            # a pointer-to-array input, length traced
        ("this->strength_", "member", "in", "float64", 1, True),       # a member read through `this`
        ("fmap::g_config.coil_pitch", "global", "in", "float64", 1, True),   # a struct global read
        ("fmap::g_config.coil_radius", "global", "in", "float64", 1, True),
        ("fmap::g_config.coils", "global", "in", "int32", 1, True),
        ("fmap::g_config.mu0_i", "global", "in", "float64", 1, True),
        ("fmap::g_config.segments", "global", "in", "int32", 1, True),
        ("fmap::g_lookups", "global", "inout", "int64", 1, False),     # the counter, read and written
    ]
    assert _rows(r["outputs"]) == [
        ("bx", "reference", "out", "float64", 1, False), ("by", "reference", "out", "float64", 1, False),
        ("bz", "reference", "out", "float64", 1, False), ("fmap::g_lookups", "global", "inout", "int64", 1, False)]
    lookups = next(v for v in r["inputs"] if v["name"] == "fmap::g_lookups")
    assert lookups["note"].startswith("counter: incremented by 1") and (lookups["min"], lookups["max"]) == (0, 11)
    assert r["unresolved"] == []
    assert r["summary"]["input_size"] == 4 and r["summary"]["output_size"] == 4
    assert r["summary"]["constant_inputs"] == 6 and r["batching"]["dependent"] is False
    strength = next(v for v in r["inputs"] if v["name"] == "this->strength_")
    assert strength["min"] == strength["max"] == 1.5 and not strength["in_signature"]


def test_shower_kernel(shower):
    r = _vars("--function", "phys::shower::GammaProfile<double>::deposit", "--calls", "8", "--",
              str(shower), "2", "10", "0")
    assert _rows(r["inputs"]) == [("e", "argument", "in", "float64", 1, False),
                                  ("cos_theta", "argument", "in", "float64", 1, False),
                                  ("this->dt_", "member", "in", "float64", 1, True),
                                  ("this->ec_", "member", "in", "float64", 1, True)]
    assert _rows(r["outputs"]) == [("layers[0:48]", "pointer", "out", "float64", 48, False)]
    assert r["calls"] == 80 and r["unresolved"] == []


def test_unresolved_length_and_opaque_then_said_by_the_user(cases):
    r = _vars("--function", "cases::scale", "--", str(cases), "scale")
    assert [(u["name"], u["type"]) for u in r["unresolved"]] == [("v", "double*")]
    assert "4 to 6 elements per call" in r["unresolved"][0]["reason"]
    assert "--input 'v:double[N]'" in r["unresolved"][0]["reason"]
    r = _vars("--function", "cases::scale", "--input", "v:double[6]", "--", str(cases), "scale")
    assert ("v[0:6]", "pointer", "inout", "float64", 6, False) in _rows(r["inputs"])
    assert r["unresolved"] == []
    r = _vars("--function", "cases::opaque", "--", str(cases), "scale")
    assert [u["name"] for u in r["unresolved"]] == ["handle"] and "opaque pointer" in r["unresolved"][0]["reason"]
    assert _rows(r["outputs"]) == [("return", "return", "out", "float64", 1, False)]


def test_crash_under_instrumentation_keeps_what_was_seen(cases):
    r = _vars("--function", "cases::scale", "--", str(cases), "crash")
    assert r["observed_calls"] == 1 and any("crashed under instrumentation" in n for n in r["notes"])
    assert ("v[0:3]", "pointer", "inout", "float64", 3, False) in _rows(r["inputs"])


@pytest.mark.parametrize("function, argv, expected", [
    ("cases::scal", ["scale"], "close names: .*cases::scale"),
    ("cases::square", ["scale"], "inlined everywhere.*noinline"),
    ("cases::never_called", ["scale"], "never called"),
])
def test_bad_input_one_line(cases, function, argv, expected):
    import re
    line = assert_one_line_error(run_cli("vars", "--function", function, "--", str(cases), *argv, timeout=120))
    assert re.search(expected, line), line


def test_no_debug_info_and_stripped(cases, tmp_path):
    nog = tmp_path / "nog"
    subprocess.run(["g++", "-O2", "-o", str(nog), str(PROGRAMS / "native" / "vars_cases.cpp")], check=True)
    assert "rebuild it with -g" in assert_one_line_error(run_cli("vars", "--function", "scale", "--", str(nog)))
    stripped = tmp_path / "stripped"
    subprocess.run(["strip", "-o", str(stripped), str(cases)], check=True)
    assert "stripped" in assert_one_line_error(run_cli("vars", "--function", "scale", "--", str(stripped)))
