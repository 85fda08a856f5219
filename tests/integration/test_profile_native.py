"""End to end on compiled programs: `phasm-perf profile`/`rank` with perf and with callgrind, read back from the
bundles they really wrote. Skips, with the reason, where perf, valgrind or a C compiler is missing."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from phasm_perf.api import load_profile, rank
from tests.conftest import EXAMPLES, PROGRAMS, assert_one_line_error, run_cli

pytestmark = pytest.mark.slow

NATIVE = PROGRAMS / "native"
SHOWER = EXAMPLES / "shower"
KERNEL = "phys::shower::GammaProfile<double>::deposit"


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed (make setup installs it)")
    return path


def _perf_records() -> None:
    _need("perf")
    from phasm_perf.collect.perf import perf_exe, probe_access

    access = probe_access(perf_exe())
    if not access.on_cpu:
        pytest.skip(f"perf may not record here: {access.reason}")


@pytest.fixture(scope="session")
def shower() -> Path:
    _need("make")
    _need("g++")
    proc = subprocess.run(["make", "-s", "-C", str(SHOWER)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return SHOWER / "shower"


@pytest.fixture(scope="session")
def native_bin(tmp_path_factory) -> Path:
    cc = _need("gcc")
    out = tmp_path_factory.mktemp("native")
    for name in ("split", "crash", "noperf"):
        proc = subprocess.run([cc, "-g", "-O2", "-fno-omit-frame-pointer", "-o", str(out / name),
                               str(NATIVE / f"{name}.c")], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    return out


def _kernel_calls(bundle: Path) -> int:
    """What the program itself says it did (its stdout, kept in the bundle)."""
    for line in (bundle / "stdout.txt").read_text().splitlines():
        if line.startswith("kernel calls:"):
            return int(line.split(":")[1])
    raise AssertionError("the shower example printed no 'kernel calls:' line")


def _rank_json(tmp_path, shower, collector, *args, options=()):
    bundle = tmp_path / f"b-{collector}"
    out = tmp_path / f"{collector}.json"
    proc = run_cli("rank", "--collector", collector, "--event-loop", "sim::run_events", "--bundle", bundle,
                   "-o", out, *options, shower, *args)
    assert proc.returncode == 0, proc.stderr
    return bundle, json.loads(out.read_text())


def test_perf_ranks_the_shower_kernel(tmp_path, shower):
    _perf_records()
    _need("uftrace")
    bundle, report = _rank_json(tmp_path, shower, "perf", "60", "150", "2")
    meta = json.loads((bundle / "meta.json").read_text())
    assert meta["collector"]["name"] == "perf" and meta["kind"] == "native"
    top = report["candidates"][0]
    # found by its demangled name (namespace, template), in its own source file, computing
    assert top["function"] == KERNEL
    assert top["file"].endswith("examples/shower/profile.cpp")
    assert top["kind"] == "compute"
    # its share: the kernel's samples under the event loop over all samples, as the bundle's stacks say
    tree = load_profile(bundle)
    in_kernel = sum(w for stacks in (tree.on_cpu, tree.off_cpu) for s, w in stacks.items()
                    if any(f.startswith(KERNEL + " (") for f in s) and any(f.startswith("sim::run_events (") for f in s))
    total = sum(tree.on_cpu.values()) + sum(tree.off_cpu.values())
    assert top["share"] == pytest.approx(in_kernel / total, rel=1e-6)
    assert 0.2 < top["share"] < 0.95
    # its exact call count, as the program counted it
    assert meta["counts"]["status"].startswith("exact")
    assert top["calls"] == _kernel_calls(bundle)
    # the read-out waits: off-CPU time was recorded from the same run
    if meta["collector"]["off_cpu"]:
        assert report["off_cpu_seconds"] > 0.05
    # the other transport kernel is found too, with its C++ operator name kept whole
    names = {c["function"] for c in report["candidates"]}
    assert "phys::FieldMap::operator()" in names


def test_callgrind_ranks_the_shower_kernel(tmp_path, shower):
    _need("valgrind")
    bundle, report = _rank_json(tmp_path, shower, "callgrind", "8", "100", "1")
    meta = json.loads((bundle / "meta.json").read_text())
    assert meta["collector"]["name"] == "callgrind"
    top = report["candidates"][0]
    assert top["function"] == KERNEL
    assert top["file"].endswith("examples/shower/profile.cpp")
    # exact calls from callgrind's own run, no second pass
    assert meta["counts"]["status"] == "exact"
    assert "callgrind" in meta["counts"]["method"]
    assert top["calls"] == _kernel_calls(bundle)
    # its share is callgrind's inclusive instruction count over the program's total
    summary = json.loads((bundle / "callgrind.json").read_text())
    assert top["share"] == pytest.approx(summary["inclusive"][KERNEL] / summary["total"], rel=0.02)


@pytest.mark.parametrize("compute,sleep", [(0.6, 0.4), (0.3, 0.9)])
def test_perf_on_off_cpu_split_within_five_points(tmp_path, native_bin, compute, sleep):
    _perf_records()
    from phasm_perf.collect.perf import perf_exe, probe_access

    if not probe_access(perf_exe()).off_cpu:
        pytest.skip("perf may not read sched:sched_switch here: off-CPU stacks are not recorded")
    out = tmp_path / "b"
    proc = run_cli("profile", "-o", out, "--no-counts", native_bin / "split", compute, sleep, 20)
    assert proc.returncode == 0, proc.stderr
    truth_c, truth_s = (float(x) for x in (out / "stdout.txt").read_text().split()[1::2])
    truth = truth_s / (truth_c + truth_s)
    b = load_profile(out)
    on, off = sum(b.on_cpu.values()), sum(b.off_cpu.values())
    assert abs(off / (on + off) - truth) < 0.05, (off / (on + off), truth)
    report = rank(b, min_fraction=0.01)
    by_name = {c.function: c for c in report.candidates}
    assert by_name["busy"].kind == "compute"
    assert by_name["idle"].kind == "waiting"
    assert by_name["idle"].inclusive_seconds == pytest.approx(truth_s, rel=0.1)


@pytest.mark.parametrize("collector", ["perf", "callgrind"])
def test_a_crashing_program_keeps_its_profile(tmp_path, native_bin, collector):
    if collector == "perf":
        _perf_records()
    else:
        _need("valgrind")
    out = tmp_path / "b"
    proc = run_cli("profile", "--collector", collector, "-o", out, native_bin / "crash", "0.4")
    line = assert_one_line_error(proc)
    assert "status failed" in line and str(out) in line
    meta = json.loads((out / "meta.json").read_text())
    assert meta["status"] == "failed"
    assert meta["exit_status"] == -11 and meta["signal"] == "SIGSEGV"
    stacks = load_profile(out).on_cpu
    assert any(any(f.startswith("work (") for f in s) for s in stacks), "the samples taken before the crash are gone"


# -- where perf is not permitted --------------------------------------------------------------------------------

def _fake_perf(tmp_path: Path, native_bin: Path, errno: int) -> Path:
    """A `perf` that is the real perf with perf_event_open(2) failing with ``errno`` (seccomp), as under
    kernel.perf_event_paranoid=3 (EACCES) or a container's default seccomp profile (EPERM)."""
    real = _need("perf")
    fake = tmp_path / f"perf-errno{errno}"
    fake.write_text(f"#!/bin/sh\nexec {native_bin / 'noperf'} {errno} {real} \"$@\"\n")
    fake.chmod(0o755)
    return fake


@pytest.mark.parametrize("errno", [13, 1])
def test_perf_not_permitted_is_one_line_with_the_fix(tmp_path, native_bin, errno):
    fake = _fake_perf(tmp_path, native_bin, errno)
    real = subprocess.run([str(fake), "record", "-o", str(tmp_path / "x.data"), "-e", "cpu-clock", "--", "true"],
                          capture_output=True, text=True)
    assert real.returncode != 0, "the seccomp wrapper did not make perf fail"
    proc = run_cli("profile", "--collector", "perf", "-o", tmp_path / "b", native_bin / "split", "0.1", "0", "1",
                   env={"PHASM_PERF_PERF": str(fake)})
    line = assert_one_line_error(proc)
    assert "kernel.perf_event_paranoid" in line and "--collector callgrind" in line
    assert not (tmp_path / "b").exists()


def test_auto_falls_back_to_callgrind_when_perf_is_not_permitted(tmp_path, native_bin):
    _need("valgrind")
    fake = _fake_perf(tmp_path, native_bin, 13)
    out = tmp_path / "b"
    proc = run_cli("profile", "--no-counts", "-o", out, native_bin / "split", "0.2", "0", "2",
                   env={"PHASM_PERF_PERF": str(fake)})
    assert proc.returncode == 0, proc.stderr
    meta = json.loads((out / "meta.json").read_text())
    assert meta["collector"]["name"] == "callgrind"
    assert any("perf_event_paranoid" in n for n in meta["notes"])


def test_functions_in_the_users_shared_library_are_candidates_with_counts(tmp_path):
    """Legacy codes keep their physics in shared libraries: those functions are the user's too."""
    _perf_records()
    _need("uftrace")
    cxx = _need("g++")
    flags = ["-g", "-O2", "-fno-omit-frame-pointer", "-std=c++17"]
    lib = tmp_path / "lib" / "libphys.so"
    lib.parent.mkdir()
    for cmd in ([cxx, *flags, "-fPIC", "-shared", "-o", str(lib), str(SHOWER / "profile.cpp"), str(SHOWER / "field.cpp")],
                [cxx, *flags, "-o", str(tmp_path / "shower"), str(SHOWER / "shower.cpp"), str(SHOWER / "event_loop.cpp"),
                 f"-L{lib.parent}", "-lphys", f"-Wl,-rpath,{lib.parent}"]):
        proc = subprocess.run(cmd, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    # The field look-up holds about 2-6% of the run: its share is of on-CPU plus off-CPU time, and the read-out's
    # sleep and fsync (off-CPU) grow on a machine whose disk is busy, which once pushed it under the default
    # --min-fraction (0.02: then 'tiny', not a candidate). What is tested is that the library's functions are
    # candidates with exact counts, so the threshold is lowered out of the way of the disk's mood.
    bundle, report = _rank_json(tmp_path, tmp_path / "shower", "perf", "30", "150", "1",
                                options=("--min-fraction", "0.001", "--top", "20"))
    by_name = {c["function"]: c for c in report["candidates"]}
    why = {e.get("function"): e for e in report.get("excluded", [])}
    for name in (KERNEL, "phys::FieldMap::operator()"):  # the library's functions: what this test is about
        assert name in by_name, (name, why.get(name), report.get("event_loop"), report["notes"])
    kernel = by_name[KERNEL]
    assert kernel["file"].endswith("examples/shower/profile.cpp")
    assert kernel["calls"] == _kernel_calls(bundle)
    # one transport per particle (events x particles from the command line), two field look-ups per step
    steps = int(re.search(r"kSteps = (\d+);", (SHOWER / "event_loop.hpp").read_text()).group(1))
    # transport (the executable's, inlined into run_events at -O2) is a frame only through perf's inline chains;
    # on a loaded machine the chain was missing in 2 of many runs (load 4-18; the cause is not pinned down yet:
    # perf's inline resolution is best effort); when it is there, its count is exact
    if "sim::transport" in by_name:
        assert by_name["sim::transport"]["calls"] == 30 * 150
    assert by_name["phys::FieldMap::operator()"]["calls"] == 30 * 150 * 2 * steps


def test_without_tracefs_perf_records_on_cpu_only_with_one_note(tmp_path, native_bin):
    """perf in a private mount namespace with an empty /sys/kernel/tracing (as in many containers): the scheduler
    tracepoint is not there, on-CPU sampling still works."""
    real = _need("perf")
    _need("unshare")
    if os.geteuid() != 0:
        pytest.skip("simulating a machine without tracefs needs a mount namespace (root)")
    fake = tmp_path / "perf-notrace"
    fake.write_text("#!/bin/sh\nexec unshare -m sh -c 'mount -t tmpfs none /sys/kernel/tracing && "
                    f"exec {real} \"$@\"' perf \"$@\"\n")
    fake.chmod(0o755)
    probe = subprocess.run([str(fake), "record", "-o", str(tmp_path / "x.data"), "-e", "sched:sched_switch", "--",
                            "true"], capture_output=True, text=True)
    if probe.returncode == 0:
        pytest.skip("the mount namespace did not hide the tracepoints here")
    out = tmp_path / "b"
    proc = run_cli("profile", "--no-counts", "-o", out, native_bin / "split", "0.3", "0.2", "4",
                   env={"PHASM_PERF_PERF": str(fake)})
    assert proc.returncode == 0, proc.stderr
    meta = json.loads((out / "meta.json").read_text())
    assert meta["collector"]["name"] == "perf" and meta["collector"]["off_cpu"] is False
    lines = [n for n in meta["notes"] if "on-CPU" in n]
    assert len(lines) == 1 and "tracefs" in lines[0]
    b = load_profile(out)
    assert b.on_cpu and not b.off_cpu
    assert "mount -t tracefs" not in proc.stderr  # the note is in the bundle and the report, not a warning


def test_overloads_stay_apart_with_their_own_counts(tmp_path):
    """perf names a C++ frame without its parameters (`kern+0x34`): two overloads of `kern` are told apart by
    address, each a candidate at its own definition line, with its own exact count."""
    _perf_records()
    _need("uftrace")
    cxx = _need("g++")
    src = NATIVE / "overloads.cpp"
    exe = tmp_path / "overloads"
    proc = subprocess.run([cxx, "-g", "-O2", "-fno-omit-frame-pointer", "-o", str(exe), str(src)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "r.json"
    proc = run_cli("rank", "--collector", "perf", "--bundle", tmp_path / "b", "-o", out, exe)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    by_name = {c["function"]: c for c in report["candidates"]}
    lines = src.read_text().splitlines()
    for sig in ("kern(double)", "kern(int)"):
        c = by_name[sig]
        assert c["calls"] == 20000
        assert lines[c["line"] - 1].find(f"double kern({sig[5:-1]} ") >= 0
    assert "kern" not in by_name  # never merged into one frame that looks like recursion
    assert report["event_loop"]["function"] == "run"
