"""Output paths as a user gives them to the real command: devices stay devices, bad paths are one line, and a bad
output path fails before the program runs."""

from __future__ import annotations

import os
import stat

import pytest

from tests.conftest import PROGRAMS, assert_one_line_error

FOLDED = "main;run;kernel 70\nmain;run;io 20\nmain;setup 10\n"


@pytest.fixture
def folded(tmp_path):
    f = tmp_path / "p.folded"
    f.write_text(FOLDED)
    return f


@pytest.mark.skipif(os.geteuid() != 0, reason="mknod needs root")
@pytest.mark.parametrize("args", [
    ["rank", "{folded}", "--format", "json", "-o", "{dev}"],
    ["rank", "{folded}", "--hardware", "a100-40gb-sxm", "--inputs", "3", "--outputs", "3", "--html", "{dev}"],
    ["predict", "--hardware", "t4", "--inputs", "3", "--outputs", "3", "-o", "{dev}"],
    ["flamegraph", "{folded}", "-o", "{dev}", "--format", "html"],
])
def test_a_device_given_to_an_output_option_stays_a_device(cli, tmp_path, folded, args):
    dev = tmp_path / "null"
    os.mknod(dev, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    ino = dev.stat().st_ino
    cli(*[a.format(folded=folded, dev=dev) for a in args], check=True)
    assert stat.S_ISCHR(dev.stat().st_mode) and dev.stat().st_ino == ino


def test_profile_refuses_a_destination_that_is_not_a_bundle_folder(cli, tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text("mine")
    line = assert_one_line_error(cli("profile", "--force", "-o", f, "--", "true"))
    assert "not a bundle folder" in line and f.read_text() == "mine"
    d = tmp_path / "data"
    d.mkdir()
    (d / "keep.csv").write_text("1,2")
    line = assert_one_line_error(cli("profile", "--force", "-o", d, "--", "true"))
    assert "not a phasm-perf bundle" in line and (d / "keep.csv").read_text() == "1,2"


@pytest.mark.parametrize("dest, expect", [
    ("{tmp}/missing/r.json", "does not exist"),
    ("{tmp}", "is a folder"),
    ("/proc/phasm-perf-x.json", "cannot create a file in '/proc'"),
])
def test_unwritable_output_is_one_line_and_the_program_never_runs(cli, tmp_path, dest, expect):
    proc = cli("rank", "--no-counts", "-o", dest.format(tmp=tmp_path), PROGRAMS / "short.py", cwd=tmp_path)
    line = assert_one_line_error(proc)
    assert expect in line
    assert not (tmp_path / "phasm-out").exists()  # refused before profiling: no bundle was made


def test_predict_to_proc_is_one_line(cli):
    line = assert_one_line_error(cli("predict", "--hardware", "t4", "--inputs", "3", "--outputs", "3",
                                     "-o", "/proc/x.json"))
    assert "/proc/x.json" in line
