"""Inputs that once crashed a reader (found by fuzzing; tests/data/fuzz-regressions/README.md says what each did):
each now reads as a profile or is refused with one PhasmError line, as detected and as its own format."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fuzz.harness import REGRESSIONS, check_file

FILES = sorted(p for p in REGRESSIONS.glob("*/*") if p.is_file())


def test_there_are_regression_files():
    assert len(FILES) >= 3


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_former_crash_is_read_or_refused_in_one_line(path: Path):
    assert check_file(path, path.parent.name) in ("read", "refused")
