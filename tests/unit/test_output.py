"""Output files (phasm_perf.core.output): atomic for regular files, in place for devices and FIFOs, symlinks
followed, every OSError one line. The devices used here are made by the test (mknod), never the machine's own."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import threading
from pathlib import Path

import pytest

from phasm_perf.core import output
from phasm_perf.core.output import OutputError, check_output, output_file, write_output

ROOT = os.geteuid() == 0


def _null_device(folder: Path) -> Path:
    """A character device like /dev/null (major 1, minor 3), private to the test."""
    if not ROOT:
        pytest.skip("mknod needs root")
    dev = folder / "null"
    os.mknod(dev, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    return dev


def test_regular_file_is_written_and_replaced_whole(tmp_path):
    f = tmp_path / "r.json"
    write_output("one\n", f)
    assert f.read_text() == "one\n"
    f.chmod(0o640)
    write_output("two\n", f)
    assert f.read_text() == "two\n"
    assert stat.S_IMODE(f.stat().st_mode) == 0o640  # an existing file keeps its permissions
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temporary file left behind


def test_a_failure_while_writing_leaves_the_old_file_and_no_temporary(tmp_path):
    f = tmp_path / "r.txt"
    f.write_text("old")
    with pytest.raises(RuntimeError):
        with output_file(f) as fh:
            fh.write("half of the new")
            raise RuntimeError("crash in the middle")
    assert f.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["r.txt"]


def test_character_device_is_written_in_place_never_replaced(tmp_path):
    dev = _null_device(tmp_path)
    before = dev.stat()
    write_output("discarded\n" * 100, dev)
    after = dev.stat()
    assert stat.S_ISCHR(after.st_mode) and after.st_ino == before.st_ino and after.st_rdev == before.st_rdev
    check_output(dev)  # a device passes the early check


def test_fifo_with_a_reader_gets_the_text_and_stays_a_fifo(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()
    write_output("through the pipe\n", fifo)
    reader.join(10)
    assert got == ["through the pipe\n"]
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_symlink_is_followed_and_stays_a_link(tmp_path):
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    write_output("new", link)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == "new"
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "made-through-the-link")
    write_output("x", dangling)
    assert dangling.is_symlink() and (tmp_path / "made-through-the-link").read_text() == "x"


def test_symlink_to_a_device_writes_the_device(tmp_path):
    dev = _null_device(tmp_path)
    link = tmp_path / "out"
    link.symlink_to(dev)
    write_output("x", link)
    assert link.is_symlink() and stat.S_ISCHR(dev.stat().st_mode)


@pytest.mark.parametrize("make, expect", [
    (lambda p: p / "missing" / "r.json", "does not exist"),
    (lambda p: p, "is a folder"),
    (lambda p: Path("/proc/phasm-perf-test.json"), "cannot"),
])
def test_bad_destinations_are_one_line(tmp_path, make, expect):
    dest = make(tmp_path)
    with pytest.raises(OutputError) as err:
        check_output(dest)
        write_output("x", dest)
    assert str(dest) in str(err.value) and expect in str(err.value)
    assert "\n" not in str(err.value)


def test_socket_is_refused(tmp_path):
    import socket

    path = tmp_path / "s"
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(path))
    try:
        with pytest.raises(OutputError, match="socket"):
            check_output(path)
        with pytest.raises(OutputError):
            write_output("x", path)
        assert stat.S_ISSOCK(path.stat().st_mode)
    finally:
        s.close()


def test_full_disk_injected(tmp_path, monkeypatch):
    f = tmp_path / "r.json"
    f.write_text("old")

    def enospc(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(output.os, "fsync", enospc)
    with pytest.raises(OutputError) as err:
        write_output("new", f)
    assert err.value.exit_code == 1 and "no space left" in str(err.value)
    assert f.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_full_disk_on_a_small_tmpfs(tmp_path):
    mnt = tmp_path / "small"
    mnt.mkdir()
    if not ROOT or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(mnt)],
                                  capture_output=True).returncode != 0:
        pytest.skip("mounting a tmpfs needs root (the injected ENOSPC test covers the same path)")
    try:
        (mnt / "r.txt").write_text("old")
        with pytest.raises(OutputError) as err:
            write_output("y" * 200_000, mnt / "r.txt")
        assert err.value.exit_code == 1 and "no space left" in str(err.value)
        assert (mnt / "r.txt").read_text() == "old" and [p.name for p in mnt.iterdir()] == ["r.txt"]
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def test_read_only_folder(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    if ROOT:
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=16k", "tmpfs", str(ro)],
                          capture_output=True).returncode != 0:
            pytest.skip("root ignores folder permissions and no read-only mount could be made")
        try:
            with pytest.raises(OutputError) as err:
                check_output(ro / "r.json")
                write_output("x", ro / "r.json")
        finally:
            subprocess.run(["umount", str(ro)], check=False)
    else:
        ro.chmod(0o555)
        with pytest.raises(OutputError) as err:
            check_output(ro / "r.json")
    assert str(ro / "r.json") in str(err.value)


def test_stdout_dash(capsys):
    write_output("to stdout\n", "-")
    assert capsys.readouterr().out == "to stdout\n"


def test_dev_null_as_an_ordinary_user_stays_a_device():
    """The machine's /dev/null written by a user who may not replace it (a forked child that drops to nobody when
    the test runs as root): written in place, still a device afterwards."""
    pid = os.fork()
    if pid == 0:  # the child: no pytest machinery, report by exit status
        code = 1
        try:
            if ROOT:
                os.setgid(65534)
                os.setuid(65534)
            write_output("x", "/dev/null")
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
