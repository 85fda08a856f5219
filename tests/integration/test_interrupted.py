"""Interrupted runs, with real signals: Ctrl-C, the program killed, phasm-perf itself stopped while it writes, two
runs writing one bundle at once. Each leaves either a complete bundle (its files matching its meta.json) marked
partial when the run was cut short, or nothing that looks like a bundle."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from phasm_perf.core.bundle import load_bundle
from tests.conftest import assert_one_line_error

pytestmark = pytest.mark.slow


def _start(*args: str, cwd=None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "phasm_perf", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=cwd)


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 60) -> int:
    end = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < end, "the program did not start"
        time.sleep(0.02)
    return int(path.read_text())


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_ctrl_c_keeps_a_complete_bundle_marked_partial(tmp_path, programs):
    out, pidfile = tmp_path / "run.phasm", tmp_path / "pid"
    proc = _start("profile", "-o", out, "--no-counts", programs / "pidfile.py", pidfile)
    _wait_for(pidfile, proc)
    time.sleep(1.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    bundle = load_bundle(out)  # its files match its meta.json
    m = bundle.meta
    assert m.status == "interrupted" and m.partial and m.signal == "SIGINT"
    assert m.samples > 100 and 1.0 < m.wall_seconds < 30
    assert m.notes[0].startswith(f"partial: the run was cut short (SIGINT) after {m.wall_seconds:.2f} s; the "
                                 f"bundle holds the {m.samples:,} samples")
    assert any("spin" in ";".join(s) for s in bundle.on_cpu)
    assert set(m.files) >= {"oncpu.folded", "offcpu.folded", "counts.json"}
    assert _leftovers(tmp_path) == []


def test_program_killed_by_a_signal_keeps_what_was_collected(tmp_path, programs):
    out, pidfile = tmp_path / "run.phasm", tmp_path / "pid"
    proc = _start("profile", "-o", out, programs / "pidfile.py", pidfile)
    pid = _wait_for(pidfile, proc)
    time.sleep(1.5)
    os.kill(pid, signal.SIGKILL)  # as the OOM killer would
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    m = load_bundle(out).meta
    assert m.status == "interrupted" and m.partial and m.signal == "SIGKILL" and m.exit_status == -9
    assert m.samples > 100
    assert m.counts.status.startswith("unavailable (the run ended interrupted")
    assert _leftovers(tmp_path) == []


#: phasm-perf stopped by a real SIGTERM to itself half-way through writing the on-CPU stacks
_KILL_WHILE_WRITING = """
import os, signal, sys
import phasm_perf.core.bundle_files as bundle
from phasm_perf.cli import main

real = bundle.write_folded
def write_half_then_stop(path, stacks):
    with open(path, "w") as fh:
        fh.write("main;half 1\\n")
    os.kill(os.getpid(), signal.SIGTERM)
    real(path, stacks)
bundle.write_folded = write_half_then_stop
sys.exit(main(sys.argv[1:]))
"""


def test_phasm_perf_stopped_while_writing_leaves_nothing(tmp_path, programs):
    out = tmp_path / "run.phasm"
    proc = subprocess.run([sys.executable, "-c", _KILL_WHILE_WRITING, "profile", "-o", str(out), "--no-counts",
                           str(programs / "split.py"), "0.3", "0.1", "2"], capture_output=True, text=True, timeout=120)
    line = assert_one_line_error(proc)
    assert proc.returncode == 130
    assert "interrupted (SIGTERM) while it wrote the bundle: nothing was kept in" in line
    assert not out.exists() and _leftovers(tmp_path) == []


@pytest.mark.parametrize("delay", [0.0, 0.05, 0.15, 0.4])
def test_sigterm_after_the_program_ends_leaves_a_whole_bundle_or_nothing(tmp_path, programs, delay):
    """Wherever the signal lands (the sampler stopping, folding, writing, renaming), the outcome is one of three."""
    out, pidfile = tmp_path / "run.phasm", tmp_path / "pid"
    proc = _start("profile", "-o", out, "--no-counts", programs / "pidfile.py", pidfile, 1.0)
    _wait_for(pidfile, proc)
    time.sleep(1.0 + delay)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    if proc.returncode in (0, -signal.SIGTERM) and out.exists() and load_bundle(out).meta.status == "complete":
        pass  # the bundle was in place before the signal (which then ended the process as SIGTERM does)
    else:
        assert proc.returncode == 130, err
        if out.exists():  # the signal reached the run (kept, marked partial), or came just after the rename
            m = load_bundle(out).meta
            assert (m.status == "interrupted" and m.partial) or "just after it wrote the bundle" in err, err
        else:
            assert "nothing was kept" in err
    assert _leftovers(tmp_path) == []


def test_phasm_perf_killed_leaves_nothing_that_looks_complete_and_the_next_run_cleans_up(tmp_path, programs):
    out, pidfile = tmp_path / "run.phasm", tmp_path / "pid"
    proc = _start("profile", "-o", out, "--no-counts", programs / "pidfile.py", pidfile)
    pid = _wait_for(pidfile, proc)
    proc.kill()  # SIGKILL: no handler runs
    proc.communicate(timeout=30)
    os.kill(pid, signal.SIGKILL)
    assert not out.exists()
    stale = _leftovers(tmp_path)
    assert len(stale) == 1 and stale[0].startswith(".run.phasm.tmp-")
    assert not (tmp_path / stale[0] / "meta.json").exists()
    proc = subprocess.run([sys.executable, "-m", "phasm_perf", "profile", "-o", str(out), "--no-counts",
                           str(programs / "split.py"), "0.3", "0.1", "2"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert load_bundle(out).meta.status == "complete" and _leftovers(tmp_path) == []


def test_two_runs_writing_one_bundle_never_mix(tmp_path, programs):
    out = tmp_path / "same.phasm"
    runs = [_start("profile", "-o", out, "--no-counts", programs / "split.py", secs, "0.2", "4")
            for secs in ("1.2", "1.6")]
    results = [(p.wait(timeout=120), p.communicate()[1]) for p in runs]
    codes = sorted(rc for rc, _ in results)
    assert codes == [0, 1] or codes == [0, 2], results
    loser = next(err for rc, err in results if rc != 0)
    line = next(ln for ln in loser.splitlines() if ln.startswith("phasm-perf: error:"))
    bundles = [load_bundle(out)]  # each bundle's files match its own meta.json: nothing mixed
    if "kept in" in line:  # both ran to the end: the later one kept its bundle beside the first
        assert "was written by another run while this one ran; this run's bundle is kept in" in line
        bundles.append(load_bundle(tmp_path / "same-2.phasm"))
        assert {b.meta.argv[2] for b in bundles} == {"1.2", "1.6"}
    else:  # the second started after the first had finished
        assert "already exists" in line
    assert _leftovers(tmp_path) == []
    for b in bundles:
        assert json.loads((b.path / "meta.json").read_text())["files"]["oncpu.folded"]["sha256"]
