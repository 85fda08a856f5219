"""A Python program started through a launcher is profiled in its real interpreter, with every attaching collector:
a bash shim that ends in ``exec`` (as pyenv's ``python3`` is), a wrapper script that runs the interpreter as a
child, ``env``, and a launcher that is itself a Python program (as ``conda run`` is)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.conftest import PROGRAMS, run_cli

pytestmark = pytest.mark.slow

PROG = PROGRAMS / "counted.py"


def _shim(tmp_path: Path, body: str, name: str = "python3") -> Path:
    d = tmp_path / "shims"
    d.mkdir(exist_ok=True)
    shim = d / name
    shim.write_text(body)
    shim.chmod(0o755)
    return shim


def _exec_shim(tmp_path: Path) -> Path:
    """What pyenv's shim does: some shell work (a few hundred ms on a busy machine), then exec the interpreter."""
    return _shim(tmp_path, f"#!/usr/bin/env bash\nset -e\nfor i in $(seq 1 200); do :; done\nsleep 0.3\n"
                           f"exec '{sys.executable}' \"$@\"\n")


def _rank(tmp_path: Path, *command: str, collector: str = "austin") -> tuple[dict, dict]:
    bundle = tmp_path / f"b-{collector}"
    out = tmp_path / f"{collector}.json"
    proc = run_cli("rank", "--collector", collector, "--min-fraction", "0.001", "--bundle", bundle, "-o", out, "--",
                   *command)
    assert proc.returncode == 0, proc.stderr
    return json.loads(out.read_text()), json.loads((bundle / "meta.json").read_text())


def _check(report: dict, meta: dict) -> None:
    assert meta["status"] == "complete"
    names = {c["function"]: c for c in report["candidates"]}
    # the program's own functions were sampled (not the shell's or the launcher's)...
    assert "leaf" in names or "mid" in names, names
    assert all(c["file"] and c["file"].endswith("counted.py") for c in report["candidates"])
    # ...and counted exactly in the same run, in the real interpreter (the counts do not depend on sampling)
    counts = {c["function"].split(" (")[0]: c["calls"] for c in meta["counts"]["functions"]}
    assert meta["counts"]["status"].startswith("exact"), meta["counts"]["status"]
    assert counts["fib"] == 218910 and counts["leaf"] == 3000 and counts["mid"] == 60


@pytest.mark.parametrize("collector", ["austin", "py-spy"])
def test_a_bash_shim_that_execs_the_interpreter(tmp_path, collector):
    shim = _exec_shim(tmp_path)
    report, meta = _rank(tmp_path, str(shim), str(PROG), collector=collector)
    _check(report, meta)
    assert any("launched the interpreter" in n for n in meta["notes"])


def test_pyenv_shim_on_path(tmp_path):
    """The real case: `python3` on PATH is pyenv's shim here."""
    found = shutil.which("python3")
    if not found or "shims" not in found:
        pytest.skip("python3 on PATH is not a shim here")
    report, meta = _rank(tmp_path, "python3", str(PROG))
    _check(report, meta)


def test_a_wrapper_script_that_runs_the_interpreter_as_a_child(tmp_path):
    wrapper = _shim(tmp_path, f"#!/bin/sh\n'{sys.executable}' \"$@\"\nstatus=$?\nsleep 0.1\nexit $status\n",
                    name="run-model.sh")
    report, meta = _rank(tmp_path, str(wrapper), str(PROG))
    _check(report, meta)
    assert any("a child of the launcher" in n for n in meta["notes"])


def test_env_in_front(tmp_path):
    report, meta = _rank(tmp_path, "env", "PHASM_TEST_VAR=1", sys.executable, str(PROG))
    _check(report, meta)


def test_a_launcher_that_is_itself_python(tmp_path):
    """`conda run` is a Python program that starts the user's interpreter as a child: the user's is sampled."""
    launcher = _shim(tmp_path, f"#!{sys.executable}\nimport subprocess, sys, time\n"
                               "time.sleep(0.2)\n"
                               "sys.exit(subprocess.call(sys.argv[1:]))\n", name="condalike")
    report, meta = _rank(tmp_path, str(launcher), sys.executable, str(PROG))
    _check(report, meta)
    assert any("a child of the launcher" in n for n in meta["notes"])


# uv comes with the test extra (into the venv's bin, beside this interpreter); a uv on PATH will do too
UV = shutil.which("uv", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))


@pytest.mark.skipif(UV is None, reason="uv is not installed here (it comes with the test extra)")
def test_uv_run(tmp_path):
    report, meta = _rank(tmp_path, UV, "run", "--no-project", "--python", sys.executable, str(PROG))
    _check(report, meta)


@pytest.mark.skipif(shutil.which("mpirun") is None, reason="no MPI launcher here")
def test_mpirun_one_rank(tmp_path):
    args = ["--allow-run-as-root"] if os.geteuid() == 0 else []
    report, meta = _rank(tmp_path, "mpirun", *args, "-n", "1", sys.executable, str(PROG))
    _check(report, meta)
