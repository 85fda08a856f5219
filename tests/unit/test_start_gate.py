"""The start gate (collect/gate.py and the sitehook's _gate): the program phasm-perf started waits, running, until
the sampler's first sample; nothing else waits; the held samples are left out."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time

import pytest

from phasm_perf.collect.gate import StartGate, line_buffered

PROG = """import os, sys, time
print(time.time(), os.environ.get("PHASM_PERF_GATE"), flush=True)
"""


def _start(tmp_path, gate: StartGate, argv_tail=None, seconds=None):
    prog = tmp_path / "prog.py"
    prog.write_text(PROG)
    env = gate.env(dict(os.environ))
    if seconds is not None:
        spec = json.loads(env["PHASM_PERF_GATE"])
        env["PHASM_PERF_GATE"] = json.dumps({**spec, "seconds": seconds})
    argv = [sys.executable, *(argv_tail or [str(prog)])]
    return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, text=True, cwd=tmp_path)


def test_the_program_waits_for_the_gate_and_its_children_never_do(tmp_path):
    gate = StartGate(tmp_path, str((tmp_path / "prog.py").resolve()))
    proc = _start(tmp_path, gate)
    time.sleep(0.6)
    assert proc.poll() is None  # held: running, not yet at its first line
    assert gate.held.exists()  # and it said so (phasm-perf then knows the samples miss nothing of it)
    opened = time.time()
    gate.open()
    started, env_seen = proc.communicate(timeout=30)[0].split()
    assert proc.returncode == 0
    assert float(started) >= opened - 0.01  # its first line ran after the gate opened
    assert env_seen == "None"  # popped: a child of the program would not wait


def test_an_interpreter_running_another_script_or_not_started_by_phasm_perf_does_not_wait(tmp_path):
    other = tmp_path / "other.py"
    other.write_text(PROG)
    # a launcher's interpreter runs its own script, whose arguments name the program: it does not wait
    gate = StartGate(tmp_path, str((tmp_path / "prog.py").resolve()))
    t0 = time.time()
    proc = _start(tmp_path, gate, [str(other), str(tmp_path / "prog.py")], seconds=20)
    proc.communicate(timeout=30)
    assert proc.returncode == 0 and time.time() - t0 < 10 and not gate.held.exists()
    # the right script, but not a child of the process that made the gate: it does not wait either
    env = gate.env(dict(os.environ))
    env["PHASM_PERF_GATE"] = json.dumps({**json.loads(env["PHASM_PERF_GATE"]), "parent": 1, "seconds": 20})
    (tmp_path / "prog.py").write_text(PROG)
    t0 = time.time()
    out = subprocess.run([sys.executable, str(tmp_path / "prog.py")], env=env, capture_output=True, timeout=30)
    assert out.returncode == 0 and time.time() - t0 < 10


def test_a_gate_never_opened_lets_the_program_go_after_its_hold(tmp_path):
    gate = StartGate(tmp_path, str((tmp_path / "prog.py").resolve()))
    t0 = time.time()
    proc = _start(tmp_path, gate, seconds=0.5)
    proc.communicate(timeout=30)
    assert proc.returncode == 0 and 0.45 < time.time() - t0 < 10


def test_a_module_run_waits_by_its_module_name(tmp_path):
    (tmp_path / "pkgmod.py").write_text(PROG)
    gate = StartGate(tmp_path, "-m pkgmod")
    proc = _start(tmp_path, gate, ["-m", "pkgmod"], seconds=20)
    time.sleep(0.5)
    assert proc.poll() is None
    gate.open()
    proc.communicate(timeout=30)
    assert proc.returncode == 0


def test_the_pump_copies_the_samples_but_the_held_first_and_opens_the_gate(tmp_path):
    gate = StartGate(tmp_path, None)
    raw = tmp_path / "raw.austin"
    out = (b"# austin: 3.7.0\n# mode: full\n\n"
           b"P1;T0:1;/s/sitecustomize.py:_gate:30 1000,0,0\n"
           b"P1;T0:1;/p.py:main:3 2000,0,0\n")
    gate.pump(io.BytesIO(out), raw).join(timeout=10)
    assert gate.opened.is_set() and gate.go.exists()
    assert raw.read_bytes() == b"# austin: 3.7.0\n# mode: full\n\nP1;T0:1;/p.py:main:3 2000,0,0\n"


def test_a_sampler_that_ends_without_a_sample_lets_the_program_go(tmp_path):
    gate = StartGate(tmp_path, None)
    gate.pump(io.BytesIO(b"# austin: 3.7.0\n"), tmp_path / "raw").join(timeout=10)
    assert gate.opened.is_set() and gate.go.exists()


def test_line_buffered_uses_stdbuf_when_there_is_one():
    cmd = line_buffered(["austin", "--pid=1"])
    if cmd is None:
        pytest.skip("no stdbuf on this machine")
    assert cmd[1:] == ["-oL", "austin", "--pid=1"] and os.path.basename(cmd[0]) == "stdbuf"
