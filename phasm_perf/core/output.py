"""Output files: the one way phasm-perf writes a file the user names (``-o``, ``--html``, a profile, a report).

The rules (ARCHITECTURE.md, "Output files"):

- ``-`` is standard output.
- A regular file (or a name that does not exist yet) is written atomically: a temporary file in the target's own
  folder, flushed and fsynced, then renamed over the target. A reader never sees half a file, and a crash leaves
  the old file (or nothing), never a file that looks complete but is not.
- An existing target that is not a regular file (a character device such as ``/dev/null``, a FIFO, a terminal) is
  opened and written in place, never replaced: ``-o /dev/null`` run as root must leave ``/dev/null`` a device.
- A symlink is followed: its target is written by the rules above and the link stays a link.
- Every ``OSError`` becomes one :class:`OutputError` line that names the path and what is wrong.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

from .errors import OS_REASONS as _REASONS, RUN_FAILURES as _RUN_FAILURES, PhasmError

STDOUT = "-"

class OutputError(PhasmError):
    """An output file that cannot be written: one line naming the path and the reason."""

    def __init__(self, path: str | os.PathLike, reason: str, exit_code: int = 2) -> None:
        super().__init__(f"cannot write {str(path)!r}: {reason}", exit_code)
        self.path = str(path)


def output_error(path: str | os.PathLike, exc: OSError) -> OutputError:
    """The one-line error for an ``OSError`` met while writing ``path``."""
    reason = _REASONS.get(exc.errno or 0) or exc.strerror or type(exc).__name__
    return OutputError(path, reason, 1 if exc.errno in _RUN_FAILURES else 2)


def _cannot_create(path: str | os.PathLike, folder: Path, exc: OSError) -> OutputError:
    if not folder.is_dir():
        return OutputError(path, f"folder {str(folder)!r} does not exist")
    reason = _REASONS.get(exc.errno or 0) or exc.strerror
    return OutputError(path, f"cannot create a file in {str(folder)!r} ({reason})",
                       1 if exc.errno in _RUN_FAILURES else 2)


def _target(path: str | os.PathLike) -> tuple[Path, os.stat_result | None]:
    """Where writing ``path`` really lands (symlinks followed) and what is there now (None: nothing yet)."""
    real = Path(os.path.realpath(os.fspath(path)))
    try:
        return real, os.stat(real)
    except FileNotFoundError:
        return real, None


def check_output(path: str | os.PathLike | None) -> None:
    """Fail now, before a long run, if ``path`` cannot be written later (a missing folder, a folder given as a
    file, a socket, a folder without write permission). ``None`` and ``-`` (standard output) always pass."""
    if path is None or os.fspath(path) == STDOUT:
        return
    real, st = _target(path)
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise OutputError(path, _REASONS[errno.EISDIR])
        if stat.S_ISSOCK(st.st_mode):
            raise OutputError(path, "it is a socket; give a file name")
        if not stat.S_ISREG(st.st_mode):
            if not os.access(real, os.W_OK):
                raise OutputError(path, _REASONS[errno.EACCES])
            return
    folder = real.parent
    if not folder.is_dir():
        raise OutputError(path, f"folder {str(folder)!r} does not exist")
    try:  # the real test: create (and remove) a file where the temporary file will go
        fd, probe = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".probe", dir=folder)
    except OSError as exc:
        raise _cannot_create(path, folder, exc) from None
    os.close(fd)
    os.unlink(probe)


@contextmanager
def output_file(path: str | os.PathLike, binary: bool = False) -> Iterator[IO]:
    """Open ``path`` for writing by the rules of this module; the file is in place when the block ends without an
    exception, and untouched (the temporary file removed) when it raises."""
    if os.fspath(path) == STDOUT:
        stream = sys.stdout.buffer if binary else sys.stdout
        yield stream
        stream.flush()
        return
    real, st = _target(path)
    mode = "wb" if binary else "w"
    enc = None if binary else "utf-8"
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise OutputError(path, _REASONS[errno.EISDIR])
    if st is not None and not stat.S_ISREG(st.st_mode):
        # a device, FIFO or terminal: written in place, never replaced
        try:
            with open(real, mode, encoding=enc) as fh:
                yield fh
        except OSError as exc:
            raise output_error(path, exc) from None
        return
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".tmp", dir=real.parent)
    except OSError as exc:
        raise _cannot_create(path, real.parent, exc) from None
    try:
        with os.fdopen(fd, mode, encoding=enc) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, stat.S_IMODE(st.st_mode) if st is not None else 0o666 & ~_umask())
        os.replace(tmp, real)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise output_error(path, exc) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_folder(real.parent)


def write_output(data: str | bytes, path: str | os.PathLike | None) -> None:
    """Write ``data`` to ``path`` (``None`` or ``-``: standard output) by the rules of this module."""
    with output_file(STDOUT if path is None else path, binary=isinstance(data, bytes)) as fh:
        fh.write(data)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def fsync_folder(folder: Path) -> None:
    """Make the rename durable (best effort: some file systems refuse to fsync a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
