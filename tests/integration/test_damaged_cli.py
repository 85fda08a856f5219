"""Damaged and unreadable input through the real command: one line naming the file and what is wrong, exit 2 (the
user's input) or 1 (the machine), no output file; --force reads what can be read and says what it skipped."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from phasm_perf.core.bundle import BundleWriter, CollectorInfo, Meta
from tests.conftest import PEER_DATA, assert_one_line_error, run_cli

CALLGRIND = PEER_DATA / "speedscope-samples/callgrind/callgrind.example.log"


def test_rank_refuses_a_profile_cut_short_and_force_reads_the_rest(tmp_path):
    f = tmp_path / "cut.folded"
    f.write_text("main;solve;step 60\nmain;solve;io 30\nmain;sol")
    line = assert_one_line_error(run_cli("rank", f))
    assert str(f) in line and "cut short" in line and "--force" in line
    proc = run_cli("rank", f, "--force", "--format", "json", "--min-fraction", "0")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert any("read with --force although it was cut short" in n for n in report["notes"])
    assert report["sampled_seconds"] == 90  # the two whole lines
    assert {e["function"] for e in report["excluded"]} >= {"step", "io"}


def test_zero_counts_are_refused(tmp_path):
    f = tmp_path / "zero.folded"
    f.write_text("main;a 0\nmain;b 0\n")
    proc = run_cli("rank", f)
    assert "every count in it is zero" in assert_one_line_error(proc) and proc.returncode == 2


def test_flamegraph_of_a_cut_callgrind_file_writes_nothing(tmp_path):
    f = tmp_path / "callgrind.out"
    text = CALLGRIND.read_text()
    f.write_text(text[:text.rindex("calls=")] + "calls=3 20\n")
    out = tmp_path / "flame.html"
    proc = run_cli("flamegraph", f, "-o", out)
    line = assert_one_line_error(proc)
    assert proc.returncode == 2 and "has no cost line" in line and str(f) in line
    assert not out.exists() and not list(tmp_path.glob(".flame.html*"))
    proc = run_cli("flamegraph", f, "-o", out, "--force")
    assert proc.returncode == 0 and out.exists() and "read with --force although" in proc.stderr


def test_an_unreadable_file_is_a_run_failure(tmp_path):
    proc = run_cli("rank", "/proc/self/mem")
    line = assert_one_line_error(proc)
    assert proc.returncode == 1 and "cannot read '/proc/self/mem': input/output error" in line


def test_rank_refuses_a_damaged_bundle(tmp_path):
    w = BundleWriter(tmp_path / "run.phasm")
    w.write_stacks("oncpu.folded", Counter({("main", "loop", "kernel"): 800, ("main", "loop", "io"): 200}))
    w.write_stacks("offcpu.folded", Counter())
    b = w.commit(Meta(tool_version="t", argv=["p"], cwd=str(tmp_path), kind="native", start_time="",
                      wall_seconds=1.0, exit_status=0, status="complete", weight_unit="samples",
                      seconds_per_unit=1e-3, collector=CollectorInfo(name="perf", off_cpu=False)))
    assert run_cli("rank", b, "--format", "json").returncode == 0
    (b / "oncpu.folded").write_text("main;loop;kernel 800\n")  # a stack lost
    proc = run_cli("rank", b)
    line = assert_one_line_error(proc)
    assert proc.returncode == 2 and f"{str(b)!r} is damaged: oncpu.folded does not match its meta.json" in line
    proc = run_cli("rank", b, "--force", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    notes = json.loads(proc.stdout)["notes"]
    assert any("holds 1 stacks weighing 800; meta.json says 2 weighing 1,000" in n for n in notes)


def test_a_folder_where_a_profile_file_is_expected(tmp_path):
    (tmp_path / "d").mkdir()
    line = assert_one_line_error(run_cli("flamegraph", tmp_path / "d", "-o", tmp_path / "x.svg"))
    assert "not a phasm-perf bundle" in line and Path(tmp_path / "x.svg").exists() is False
