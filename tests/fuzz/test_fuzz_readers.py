"""Every reader fuzzed (hypothesis: mutations of real files, and JSON values of the wrong type): a profile or one
PhasmError line, never a crash, never a hang (over 10 s).

``make test`` runs a few hundred cases per reader; ``make fuzz`` runs ``PHASM_FUZZ_CASES`` (10,000) per reader and
writes the counts to ``.fuzz-stats/READER.json`` (``python -m tests.fuzz.summary`` prints them). A crash's input is kept in ``.fuzz-crashes/``; copied under
``tests/data/fuzz-regressions/FORMAT/`` it is run by ``test_fuzz_regressions.py`` ever after."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.harness import BUNDLE_FILES, READERS, SEEDS, base_bundle, check_bundle, check_file, keep_crash, \
    mutated

CASES = int(os.environ.get("PHASM_FUZZ_CASES", "300"))
STATS = Path(os.environ.get("PHASM_FUZZ_STATS", Path(__file__).resolve().parents[2] / ".fuzz-stats"))
FUZZ = settings(max_examples=CASES, deadline=timedelta(seconds=10), database=None, derandomize=CASES < 1000,
                suppress_health_check=list(HealthCheck), print_blob=True)


def _record(fmt: str, cases: Counter, seconds: float, cpu: float) -> None:
    if "PHASM_FUZZ_CASES" not in os.environ:
        return
    STATS.mkdir(exist_ok=True)
    stats = {"reader": fmt, "cases": sum(cases.values()), **dict(cases), "crashes": 0, "seconds": round(seconds, 1),
             "cpu_seconds": round(cpu, 1)}
    (STATS / f"{fmt}.json").write_text(json.dumps(stats) + "\n")


@pytest.mark.parametrize("fmt", [r for r in READERS if r != "bundle"])
def test_reader_never_crashes(fmt, tmp_path):
    path = tmp_path / "input"
    cases: Counter = Counter()

    @FUZZ
    @given(data=mutated(SEEDS[fmt]))
    def one(data: bytes) -> None:
        path.write_bytes(data)
        try:
            cases[check_file(path, fmt)] += 1
        except Exception:
            keep_crash(fmt, data)
            raise

    t0, c0 = time.perf_counter(), time.process_time()
    one()
    _record(fmt, cases, time.perf_counter() - t0, time.process_time() - c0)
    assert sum(cases.values()) >= CASES * 0.9  # hypothesis ran (nearly) all the cases asked for


def test_bundle_never_crashes(tmp_path):
    base = base_bundle(tmp_path)
    seeds = {n: (base / n).read_bytes() for n in BUNDLE_FILES}
    cases: Counter = Counter()

    @FUZZ
    @given(name=st.sampled_from(BUNDLE_FILES), removed=st.booleans() | st.just(False), data=st.data())
    def one(name: str, removed: bool, data) -> None:
        content = None if removed and data.draw(st.integers(0, 9)) == 0 else data.draw(mutated([seeds[name]]))
        try:
            cases[check_bundle(base, tmp_path / "work.phasm", name, content)] += 1
        except Exception:
            keep_crash(f"bundle-{name}", content or b"")
            raise

    t0, c0 = time.perf_counter(), time.process_time()
    one()
    _record("bundle", cases, time.perf_counter() - t0, time.process_time() - c0)
    assert sum(cases.values()) >= CASES * 0.9
