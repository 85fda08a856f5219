"""benchmarks/large_batches.py reads one profile two ways: its copy must lose the rows above the cut and nothing else."""

from __future__ import annotations

import importlib.util

from tests.conftest import ROOT


def _module():
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        spec = importlib.util.spec_from_file_location("large_batches", ROOT / "benchmarks" / "large_batches.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))


def test_the_copy_without_the_large_rows_keeps_every_other_node_in_place():
    lb = _module()
    # 3 batches x 2 inputs x 2 outputs: seconds numbered by node, the row at 8192 is nodes 8-11
    table = {"batches": [1, 4096, 8192], "inputs": [2, 6], "outputs": [2, 6], "seconds": list(range(12)),
             "passes": [list(range(12)), list(range(100, 112))], "source": "measured"}
    profile = {"name": "local", "tables": {"linear": {"fp32": table}, "activation": {"fp32": {"elements": [1]}}}}
    cut = lb.without_rows(profile, 4096)
    t = cut["tables"]["linear"]["fp32"]
    assert t["batches"] == [1, 4096] and t["seconds"] == list(range(8))
    assert t["passes"] == [list(range(8)), list(range(100, 108))]
    assert t["inputs"] == [2, 6] and t["source"] == "measured" and cut["tables"]["activation"] == {"fp32": {"elements": [1]}}
    assert profile["tables"]["linear"]["fp32"]["batches"] == [1, 4096, 8192]   # the original is left alone
