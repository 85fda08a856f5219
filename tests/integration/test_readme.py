"""The README's commands work as written."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli


@pytest.mark.slow
def test_profile_of_a_script_after_double_dash_as_the_readme_writes_it(tmp_path, programs):
    readme = (ROOT / "README.md").read_text()
    line = re.search(r"^phasm-perf (profile -o run\.phasm -- prog\.py) ARGS", readme, re.M)
    assert line, "the README no longer shows `phasm-perf profile -o run.phasm -- prog.py ARGS`"
    shutil.copy(programs / "split.py", tmp_path / "prog.py")
    proc = run_cli(*line.group(1).split(), "0.3", "0.1", "2", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    meta = json.loads((tmp_path / "run.phasm" / "meta.json").read_text())
    assert meta["kind"] == "python" and Path(meta["argv"][1]).name == "prog.py" and meta["status"] == "complete"


def test_the_readme_says_where_the_command_is():
    readme = (ROOT / "README.md").read_text()
    assert ".venv/bin/phasm-perf" in readme and "source .venv/bin/activate" in readme
