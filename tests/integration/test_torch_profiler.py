"""`--torch-profiler` on a real PyTorch program: its operators, FLOPs and bytes in the bundle, on the roofline."""

from __future__ import annotations

import json

import pytest

from phasm_perf.collect.torch_ops import load_ops, operator_tree, wrap_argv
from tests.conftest import EXAMPLES, assert_one_line_error, run_cli

pytestmark = pytest.mark.slow

FIT = EXAMPLES / "torch_mlp" / "fit.py"


def test_operators_with_flops_and_bytes_go_into_the_bundle_and_the_roofline(tmp_path):
    pytest.importorskip("torch", reason="torch is not installed (pip install -c constraints/ci.txt torch)")
    steps, batch, features = 12, 64, 32
    out = tmp_path / "b"
    proc = run_cli("profile", "--torch-profiler", "--no-counts", "-o", out, FIT, "--steps", steps, "--batch", batch,
                   "--features", features, "--wait", "0.001")
    assert proc.returncode == 0, proc.stderr
    assert "final loss" in (out / "stdout.txt").read_text()  # the program ran as itself
    ops = {o["name"]: o for o in load_ops(out)}
    addmm = ops["aten::addmm"]
    # the forward pass: three linear layers, features -> 512 -> 512 -> 1, one addmm each per step
    assert addmm["calls"] == 3 * steps
    assert addmm["flops"] == steps * 2 * batch * (features * 512 + 512 * 512 + 512 * 1)
    weights = 4 * (features * 512 + 512 * 512 + 512) + 4 * (512 + 512 + 1)
    assert addmm["input_bytes"] >= steps * weights  # at least the fp32 weights and biases are read
    assert addmm["cpu_time_us"] > 0 and "aten::mm" in ops  # the backward matmuls
    tree = operator_tree(out)
    assert "aten::addmm" in set(tree.functions["name"])
    meta = json.loads((out / "meta.json").read_text())
    assert any("operators recorded" in n for n in meta["notes"])
    # the wrapper's own frames are not in the sampled stacks
    assert "_torchwrap" not in (out / "oncpu.folded").read_text()

    html = tmp_path / "r.html"
    proc = run_cli("rank", "--hardware", "epyc-7763", "--html", html, out)
    assert proc.returncode == 0, proc.stderr
    page = html.read_text()
    assert "PyTorch operators on the roofline" in page and "aten::addmm" in page
    assert "<!-- PyTorch operators (measured) -->" in page  # the operators' legend entry in the plot's SVG


def test_wrap_argv_keeps_interpreter_flags_and_modules():
    from phasm_perf.collect.torch_ops import WRAPPER

    assert wrap_argv(["py", "-u", "s.py", "--x"]) == ["py", "-u", str(WRAPPER), "s.py", "--x"]
    assert wrap_argv(["py", "-m", "pkg.mod", "a"]) == ["py", str(WRAPPER), "-m", "pkg.mod", "a"]


def test_torch_profiler_on_a_compiled_program_is_one_line(tmp_path):
    shower = EXAMPLES / "shower" / "shower"
    if not shower.exists():
        pytest.skip("examples/shower is not built (make examples)")
    proc = run_cli("profile", "--torch-profiler", "-o", tmp_path / "b", shower, "1", "1", "0")
    assert "--torch-profiler" in assert_one_line_error(proc)
