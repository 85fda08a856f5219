"""The README's commands work as written."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli


@pytest.mark.slow
def test_profile_of_a_script_after_double_dash_as_the_readme_writes_it(tmp_path):
    readme = (ROOT / "README.md").read_text()
    line = re.search(r"^phasm-perf (profile -o run\.phasm -- (examples/\S+\.py)[^#\n]*?)\s+#", readme, re.M)
    assert line, "the README no longer shows `phasm-perf profile -o run.phasm -- examples/SCRIPT.py ...`"
    shutil.copytree(ROOT / "examples", tmp_path / "examples", ignore=shutil.ignore_patterns("__pycache__", "*.o"))
    proc = run_cli(*line.group(1).split(), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    meta = json.loads((tmp_path / "run.phasm" / "meta.json").read_text())
    assert meta["kind"] == "python" and meta["status"] == "complete"
    assert Path(meta["argv"][1]).name == Path(line.group(2)).name     # the script, under this Python


def test_the_readme_says_where_the_command_is():
    readme = (ROOT / "README.md").read_text()
    assert ".venv/bin/phasm-perf" in readme and "source .venv/bin/activate" in readme
