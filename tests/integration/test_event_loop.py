"""`rank PROG` with no --event-loop finds the loop on programs built for each shape: a main loop, nested drivers,
no loop at all, a recursive driver, worker threads (Python), and the C++ shower example. The loop and the frames
above it are never candidates; shares stay shares of the whole run, with the share of the loop beside them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, PROGRAMS, run_cli

pytestmark = pytest.mark.slow

LOOPS = PROGRAMS / "loops"


def _rank(tmp_path: Path, *args) -> tuple[dict, dict, str]:
    bundle = tmp_path / "b"
    out = tmp_path / "r.json"
    proc = run_cli("rank", "--bundle", bundle, "-o", out, *args)
    assert proc.returncode == 0, proc.stderr
    table = run_cli("rank", bundle, check=True).stdout
    return json.loads(out.read_text()), json.loads((bundle / "meta.json").read_text()), table


def _names(report: dict) -> list[str]:
    return [c["function"] for c in report["candidates"]]


def _reason(report: dict, name: str) -> str:
    return next(e["reason"] for e in report["excluded"] if e["function"].startswith(name + " ("))


@pytest.mark.parametrize("prog, loop, first, calls, above", [
    ("main_loop.py", "main", "step", 30000, ["<module>"]),
    ("nested.py", "run", "step", 96000, ["main", "<module>"]),      # the innermost driver called a few times
    ("recursive.py", "drive", "advance", 300, ["main"]),            # its 301 calls are one entry from main
    ("threads.py", "worker", "work", 8000, []),                     # two workers; the main thread only waits
])
def test_the_loop_is_found(tmp_path, prog, loop, first, calls, above):
    report, meta, table = _rank(tmp_path, LOOPS / prog)
    assert report["event_loop"]["function"] == loop and report["event_loop"]["how"] == "found"
    assert report["options"]["event_loop"] == loop
    assert f"event loop: {loop} (found; --event-loop to choose another)" in table
    assert meta["analysis"]["event_loop"] is None  # the bundle keeps "find it": ranking it again finds it again
    names = _names(report)
    assert names[0] == first and report["candidates"][0]["calls"] == calls
    for frame in [loop, *above]:
        assert frame not in names and _reason(report, frame) == "event loop"
    top = report["candidates"][0]
    # shares of the whole run; the column beside is the share of the loop (which holds most, not all, of the run)
    assert top["share"] <= top["share_of_loop"] <= 1.0
    assert top["share_of_loop"] == pytest.approx(top["share"] / report["event_loop"]["share"], rel=1e-6)
    lo, hi = top["share_interval"]
    assert lo < top["share"] < hi


def test_no_loop_is_said_and_every_function_ranked(tmp_path):
    report, _, table = _rank(tmp_path, LOOPS / "no_loop.py")
    assert report["event_loop"]["function"] is None and report["event_loop"]["how"] == "none"
    assert "event loop: none" in table
    assert set(_names(report)) == {"phase_a", "phase_b", "phase_c"}
    assert _reason(report, "main") == "whole run"  # the program itself is no candidate
    assert all(c["share_of_loop"] is None for c in report["candidates"])


def test_a_named_loop_wins_and_none_ranks_everything(tmp_path):
    report, meta, _ = _rank(tmp_path, "--event-loop", "event", LOOPS / "nested.py")
    assert report["event_loop"] == {**report["event_loop"], "function": "event", "how": "given"}
    assert meta["analysis"]["event_loop"] == "event"
    bundle = tmp_path / "b"
    again = json.loads(run_cli("rank", "--format", "json", bundle, check=True).stdout)
    assert again["event_loop"]["function"] == "event" and again["event_loop"]["how"] == "bundle"
    whole = json.loads(run_cli("rank", "--format", "json", "--event-loop", "none", bundle, check=True).stdout)
    assert whole["event_loop"]["how"] == "none" and _names(whole)[0] == "step"
    # with no loop, the drivers are set aside for what they are: the program itself, and a tower over step
    assert _reason(whole, "run") == "whole run" and _reason(whole, "event") == "tower"


def test_the_cpp_event_loop_is_found(tmp_path):
    from tests.integration.test_profile_native import KERNEL, _need, _perf_records

    _perf_records()
    _need("uftrace")
    shower = EXAMPLES / "shower" / "shower"
    if not shower.exists():
        pytest.skip("examples/shower is not built (make examples)")
    report, meta, table = _rank(tmp_path, "--collector", "perf", shower, "40", "150", "1")
    assert report["event_loop"]["function"] == "sim::run_events", report["event_loop"]
    # found with uftrace's counts where it can patch the loop, else from the stacks (said so)
    assert report["event_loop"]["how"] in ("found", "found from the stacks")
    assert _names(report)[0] == KERNEL
    assert "main" not in _names(report) and "sim::run_events" not in _names(report)
    assert "event loop: sim::run_events (found" in table
    assert _reason(report, "main") == "event loop"
