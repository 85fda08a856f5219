"""`phasm-perf profile --collector scalene` on a real program: Scalene runs it, the bundle holds its line-level
Python / native / system split, and `rank` and `flamegraph` read the bundle."""

from __future__ import annotations

import importlib.util
import json

import pytest

from phasm_perf.api import load_profile
from tests.conftest import EXAMPLES, assert_one_line_error, run_cli

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(importlib.util.find_spec("scalene") is None, reason="scalene not installed")]


def test_profile_with_scalene_then_rank_and_draw(tmp_path):
    out = tmp_path / "heat.phasm"
    proc = run_cli("profile", "-o", out, "--collector", "scalene", "--no-counts", EXAMPLES / "heat.py",
                   "--steps", "30", timeout=600)
    assert proc.returncode == 0, proc.stderr
    meta = json.loads((out / "meta.json").read_text())
    assert meta["collector"]["name"] == "scalene" and meta["weight_unit"] == "us"
    bundle = load_profile(out)
    leaves = {s[-1] for s in bundle.on_cpu}
    assert leaves <= {"[python]", "[native]", "[system]"} and "[python]" in leaves
    lines = json.loads((out / "scalene.json").read_text())["lines"]
    src = [ln for ln in lines if ln["function"] == "source_term"]
    assert src and sum(ln["python_seconds"] + ln["native_seconds"] + ln["system_seconds"] for ln in src) > 0
    proc = run_cli("rank", "--format", "json", out)
    assert proc.returncode == 0, proc.stderr
    assert "source_term" in [c["function"] for c in json.loads(proc.stdout)["candidates"]]
    page = tmp_path / "heat.html"
    assert run_cli("flamegraph", out, "-o", page).returncode == 0
    assert "[native]" in page.read_text()


def test_scalene_refuses_a_program_that_is_not_python(tmp_path):
    proc = run_cli("profile", "-o", tmp_path / "x", "--collector", "scalene", "--", "/bin/true")
    assert "Python script" in assert_one_line_error(proc)
    assert not (tmp_path / "x").exists()
