"""The counting hook in the run that is sampled counts only where it is nearly free; where it would be
``sys.setprofile`` (Python < 3.11, or 3.11 without the compiled-in counters) it defers to a second run, so the
sampled run's shares are not those of a program slowed several times."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from phasm_perf.collect.counts import CountingHook

PROGRAM = "def f(x):\n    return x + 1\n\n\nfor i in range(1000):\n    f(i)\n"


def _run(tmp_path: Path, hook: CountingHook, no_inject: bool = False):
    prog = tmp_path / "prog.py"
    prog.write_text(PROGRAM)
    if no_inject:
        spec = json.loads(hook.spec.read_text())
        spec["no_inject"] = True
        hook.spec.write_text(json.dumps(spec))
    proc = subprocess.run([sys.executable, str(prog)], env=hook.env(), capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    return hook.read(proc.returncode)


def _calls(info, name="f"):
    return {r.function.split(" (")[0]: r.calls for r in info.functions}[name]


def test_in_the_sampled_run_setprofile_is_deferred(tmp_path):
    info = _run(tmp_path, CountingHook(None, [str(tmp_path)], sampled_run=True), no_inject=True)
    if sys.version_info >= (3, 12):  # sys.monitoring: nearly free, counted in the run itself
        assert info is not None and _calls(info) == 1000
    else:
        assert info is None   # phasm-perf counts in a second run instead


def test_in_the_sampled_run_the_cheap_counters_count(tmp_path):
    info = _run(tmp_path, CountingHook(None, [str(tmp_path)], sampled_run=True))
    if sys.version_info >= (3, 11):
        assert info is not None and info.status.startswith("exact") and _calls(info) == 1000
    else:
        assert info is None


def test_a_counting_run_of_its_own_always_counts(tmp_path):
    prog_file = str(tmp_path / "prog.py")
    info = _run(tmp_path, CountingHook([("f (x)", prog_file, "f")], [str(tmp_path)]), no_inject=True)
    assert info is not None and info.status.startswith("exact")
    assert [(r.function, r.calls) for r in info.functions] == [("f (x)", 1000)]
