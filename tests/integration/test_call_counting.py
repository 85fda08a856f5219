"""The counting pass on every Python this machine has: sys.setprofile (3.11) and sys.monitoring (3.12+)."""

from __future__ import annotations

import glob
import os
import shutil
import sys

import pytest

from phasm_perf.collect.counts import count_calls
from phasm_perf.collect.program import Target
from tests.conftest import PROGRAMS


def _interpreters() -> list[str]:
    found = {sys.executable}
    for v in ("3.12", "3.13"):
        exe = next(iter(sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{v}*/bin/python{v}")))), None)
        exe = exe or shutil.which(f"python{v}")
        if exe and "shims" not in exe:
            found.add(exe)
    return sorted(found)


@pytest.mark.parametrize("python", _interpreters())
def test_counts_exact_on_each_python(python):
    prog = str(PROGRAMS / "counted.py")
    info = count_calls(Target([python, prog], "python"),
                       [("leaf", prog, "leaf"), ("fib", prog, "fib"), ("mid", prog, "mid"), ("nope", prog, "nope")])
    assert info.status == "exact"
    got = {c.function: (c.calls, c.line) for c in info.functions}
    assert got["leaf"] == (3000, 6) and got["mid"] == (60, 13) and got["fib"] == (218910, 20)
    assert got["nope"][0] == 0


def test_count_pass_keeps_existing_sitecustomize(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text("import os\nos.environ['THEIRS_LOADED'] = '1'\n")
    prog = tmp_path / "p.py"
    prog.write_text("import os, sys\ndef f():\n    pass\nf(); f()\nsys.exit(0 if os.environ.get('THEIRS_LOADED') else 7)\n")
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(site)
    try:
        info = count_calls(Target([sys.executable, str(prog)], "python"), [("f", str(prog), "f")])
    finally:
        if old is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = old
    assert info.status == "exact" and info.functions[0].calls == 2


def test_counting_pass_that_fails_gives_no_counts(tmp_path):
    """A counting run that does not exit 0 may have stopped half-way: its counts are never reported as exact."""
    prog = tmp_path / "p.py"
    prog.write_text("import os, sys\ndef f():\n    pass\nf()\nsys.exit(int(os.environ.get('FAIL_WITH', '0')))\n")
    os.environ["FAIL_WITH"] = "5"
    try:
        info = count_calls(Target([sys.executable, str(prog)], "python"), [("f", str(prog), "f")])
    finally:
        del os.environ["FAIL_WITH"]
    assert info.status.startswith("unavailable") and "exited 5" in info.status and not info.functions
