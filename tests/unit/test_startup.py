"""Start-up (issue 15 item 6): `phasm-perf --help`, every command's `--help`, and what `rank` and `profile` load
before they start the program import none of the heavy packages (pandas, numpy, pydantic, matplotlib, torch,
jinja2, yaml): the library is imported where it is used. (The times: benchmarks/rank_cost.py.)"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from phasm_perf.cli import COMMANDS

HEAVY = ("pandas", "numpy", "pydantic", "matplotlib", "torch", "jinja2", "yaml")

_LOADED = """
import contextlib, io, json, sys
from phasm_perf.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    try:
        main(sys.argv[1:])
    except SystemExit:
        pass
{more}
print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({heavy!r}))))
"""


def _heavy_loaded(argv: list[str], more: str = "") -> list[str]:
    code = _LOADED.format(heavy=HEAVY, more=more)
    proc = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("argv", [["--help"]] + [[c, "--help"] for c in COMMANDS], ids=lambda a: " ".join(a))
def test_help_imports_nothing_heavy(argv):
    assert _heavy_loaded(argv) == []


def test_what_a_profile_run_loads_before_the_program_starts_is_light():
    """The modules `rank PROG` and `profile PROG` need up to starting the program (the collectors, the counting
    hook's setup, the bundle's folder writer): the bundle's types and the analysis come after."""
    more = "import phasm_perf.api, phasm_perf.collect.run, phasm_perf.collect.austin, phasm_perf.collect.perf, " \
           "phasm_perf.collect.counts, phasm_perf.core.bundle_files"
    assert _heavy_loaded(["--help"], more) == []
