"""Inputs that once crashed a reader (found by fuzzing; tests/data/fuzz-regressions/README.md says what each did):
each now reads as a profile or is refused with one PhasmError line, as detected and as its own format. A bundle's
regression (``bundle/FILE--LABEL``) replaces FILE of the fuzzer's base bundle."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fuzz.harness import REGRESSIONS, base_bundle, check_bundle, check_file

FILES = sorted(p for p in REGRESSIONS.glob("*/*") if p.is_file() and p.parent.name != "bundle")
BUNDLE_FILES = sorted((REGRESSIONS / "bundle").glob("*--*"))


def test_there_are_regression_files():
    assert len(FILES) >= 4 and len(BUNDLE_FILES) >= 1


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_former_crash_is_read_or_refused_in_one_line(path: Path):
    assert check_file(path, path.parent.name) in ("read", "refused")


@pytest.mark.parametrize("path", BUNDLE_FILES, ids=lambda p: p.name)
def test_a_former_bundle_crash_is_read_or_refused_in_one_line(path: Path, tmp_path):
    name = path.name.split("--")[0]
    assert check_bundle(base_bundle(tmp_path), tmp_path / "work.phasm", name, path.read_bytes()) in ("read", "refused")
