"""The counting pass also sizes the surrogate's inputs and outputs from the first real calls, on every Python this
machine has (sys.setprofile on 3.11, sys.monitoring on 3.12+)."""

from __future__ import annotations

import pytest

from phasm_perf.collect.counts import count_calls, typical_size
from phasm_perf.collect.program import Target
from tests.conftest import PROGRAMS
from tests.integration.test_call_counting import _interpreters


@pytest.mark.parametrize("python", _interpreters())
def test_inputs_and_outputs_are_counted_in_real_calls(python):
    prog = str(PROGRAMS / "shaped.py")
    info = count_calls(Target([python, prog], "python"), [("kernel", prog, "kernel"), ("step", prog, "Model.step")])
    assert info.status == "exact", info.status
    got = {c.function: (c.calls, c.inputs, c.outputs) for c in info.functions}
    assert got["kernel"] == (10, 8, 6)
    assert got["step"] == (10, 4, 3)


def test_numpy_scalars_among_them_are_counted(tmp_path):
    import sys

    prog = tmp_path / "np_args.py"
    prog.write_text("import numpy as np\n"
                    "u = np.linspace(0.0, 1.0, 50)\n"
                    "def source(v, x, t):\n"
                    "    return v * x + t\n"             # numpy.float64 * float: a numpy.float64 result
                    "def plain(x):\n"
                    "    return (x, 2 * x)\n"
                    "print(sum(source(u[i], i / 49, 0.5) + plain(float(i))[1] for i in range(50)))\n")
    info = count_calls(Target([sys.executable, str(prog)], "python"),
                       [("source", str(prog), "source"), ("plain", str(prog), "plain")])
    assert info.status == "exact", info.status
    got = {c.function: (c.calls, c.inputs, c.outputs, c.numpy_scalars) for c in info.functions}
    assert got["source"] == (50, 3, 1, 2)   # u[i] in, the numpy.float64 result out
    assert got["plain"] == (50, 1, 2, 0)


def test_typical_size_is_the_most_common_non_zero_size():
    assert typical_size([7, 7, 8]) == 7
    assert typical_size([0, 0]) is None
    assert typical_size([]) is None
    assert typical_size([3, 5]) == 5
