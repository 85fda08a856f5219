"""Options are checked before anything runs: counts >= 1, shares in [0, 1], intervals above 0 (a warning below the
sampler's floor), an unknown --event-loop refused with the closest names of the profile."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from phasm_perf.core.bundle import BundleWriter, CollectorInfo, Meta
from tests.conftest import assert_one_line_error, run_cli


@pytest.fixture
def marker_program(tmp_path):
    """A program that leaves a file behind when it runs: a refused option must not run it."""
    prog = tmp_path / "prog.py"
    prog.write_text(f"open({str(tmp_path / 'ran')!r}, 'w').close()\n")
    return prog


@pytest.mark.parametrize("args, message", [
    (["rank", "--top", "0"], "argument --top: '0': give a whole number >= 1"),
    (["rank", "--top", "-1"], "argument --top: '-1': give a whole number >= 1"),
    (["rank", "--top", "two"], "argument --top: 'two' is not a whole number"),
    (["rank", "--count-top", "0"], "argument --count-top: '0': give a whole number >= 1"),
    (["rank", "--min-fraction", "2"], "argument --min-fraction: '2': give a share of the whole, in [0, 1]"),
    (["rank", "--min-fraction", "-0.1"], "argument --min-fraction: '-0.1': give a share of the whole"),
    (["rank", "--min-fraction", "nan"], "argument --min-fraction: 'nan': give a share of the whole"),
    (["rank", "--interval", "0"], "argument --interval: '0': give a number of seconds above 0"),
    (["rank", "--interval", "-1"], "argument --interval: '-1': give a number of seconds above 0"),
    (["rank", "--interval", "inf"], "argument --interval: 'inf': give a number of seconds above 0"),
    (["profile", "-o", "{tmp}/b", "--interval", "0"], "argument --interval: '0'"),
    (["profile", "-o", "{tmp}/b", "--min-fraction", "1.5"], "argument --min-fraction: '1.5'"),
    (["rank", "--hardware", "cpu-generic", "--batch", "0"], "argument --batch"),
    (["bench", "--function", "prog:f", "--timeout", "0"], "argument --timeout: '0'"),
    (["bench", "--function", "prog:f", "--repeats", "0"], "argument --repeats: '0'"),
])
def test_bad_options_are_refused_before_the_program_runs(tmp_path, marker_program, args, message):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    proc = run_cli(*args, "--", marker_program) if args[0] == "bench" else run_cli(*args, marker_program)
    line = assert_one_line_error(proc)
    assert proc.returncode == 2 and message in line, line
    assert not (tmp_path / "ran").exists() and not (tmp_path / "b").exists()


@pytest.mark.parametrize("args, message", [
    (["flamegraph", "--min-width", "1"], "argument --min-width: '1': give a share of the whole, in [0, 1)"),
    (["flamegraph", "--min-fraction", "3"], "argument --min-fraction: '3'"),
    (["predict", "--hardware", "cpu-generic", "--inputs", "0", "--outputs", "3"], "argument --inputs: '0'"),
    (["hw", "measure", "--threads", "0"], "argument --threads: '0'"),
])
def test_bad_options_of_the_other_commands(tmp_path, args, message):
    src = tmp_path / "p.folded"
    src.write_text("main;a 3\n")
    proc = run_cli(*args, *([src] if args[0] == "flamegraph" else []))
    assert message in assert_one_line_error(proc) and proc.returncode == 2


def _bundle(path):
    w = BundleWriter(path)
    w.write_stacks("oncpu.folded", Counter({("main (sim.py:1)", "run_events (sim.py:5)", "kernel (sim.py:9)"): 900,
                                            ("main (sim.py:1)", "setup (sim.py:20)"): 100}))
    w.write_stacks("offcpu.folded", Counter())
    return w.commit(Meta(tool_version="t", argv=["sim.py"], cwd=str(path.parent), kind="python", start_time="",
                         wall_seconds=1.0, exit_status=0, status="complete", weight_unit="us", seconds_per_unit=1e-6,
                         collector=CollectorInfo(name="austin", off_cpu=True)))


def test_unknown_event_loop_of_a_bundle_names_the_closest(tmp_path):
    b = _bundle(tmp_path / "run.phasm")
    line = assert_one_line_error(run_cli("rank", b, "--event-loop", "run_event"))
    assert f"--event-loop 'run_event' names no frame of {str(b)!r}; the closest names in it: run_events" in line
    line = assert_one_line_error(run_cli("flamegraph", b, "--event-loop", "xyzzy", "-o", tmp_path / "f.html"))
    assert "(nothing close); its heaviest frames: main, " in line and "run_events" in line
    assert not (tmp_path / "f.html").exists()
    proc = run_cli("rank", b, "--event-loop", "run_events", "--format", "json", "--min-fraction", "0")
    assert proc.returncode == 0 and json.loads(proc.stdout)["candidates"][0]["function"] == "kernel"


@pytest.mark.slow
def test_unknown_event_loop_of_a_program_is_refused_after_profiling_and_the_profile_kept(tmp_path, programs):
    out = tmp_path / "b"
    proc = run_cli("rank", "--bundle", out, "--event-loop", "mian", programs / "split.py", 0.4, 0.1, 2)
    line = assert_one_line_error(proc)
    assert f"--event-loop 'mian' names no frame of {str(out)!r}; the closest names in it: main" in line
    assert json.loads((out / "meta.json").read_text())["status"] == "complete"
    # a Python program's calls are counted in the sampled run itself, whatever loop is named
    assert json.loads((out / "meta.json").read_text())["counts"]["status"] == "exact"


@pytest.mark.slow
def test_an_interval_below_the_samplers_floor_is_said(tmp_path, programs):
    out = tmp_path / "b"
    proc = run_cli("profile", "-o", out, "--no-counts", "--interval", "0.00001", programs / "split.py", 0.3, 0.1, 2)
    assert proc.returncode == 0, proc.stderr
    assert "warning: --interval 1e-05 s is below austin's floor of 50 µs: sampled every 50 µs" in proc.stderr
    meta = json.loads((out / "meta.json").read_text())
    assert any("below austin's floor" in n for n in meta["notes"])


def test_dash_o_is_standard_output_for_every_text_output(tmp_path):
    b = _bundle(tmp_path / "run.phasm")
    for args, starts in ((["rank", b, "-o", "-", "--format", "json"], "{"),
                         (["rank", b, "-o", "-", "--format", "csv"], "rank,function"),
                         (["flamegraph", b, "-o", "-", "--format", "folded"], "main"),
                         (["flamegraph", b, "-o", "-", "--format", "svg"], "<svg")):
        proc = run_cli(*args)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.lstrip().startswith(starts) and "wrote -" not in proc.stderr
    assert not (tmp_path / "-").exists()
