"""The one error type the command line turns into a one-line message and an exit code."""

from __future__ import annotations

import errno
import os

#: errors of the machine rather than of the path the user chose: exit 1 (a run failure), not 2 (usage)
RUN_FAILURES = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG}

#: what an ``OSError`` means, in the words of a one-line error
OS_REASONS = {
    errno.ENOENT: "no such file or folder",
    errno.ENOTDIR: "a part of the path is not a folder",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "read-only file system",
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EISDIR: "it is a folder; give a file name",
    errno.ENXIO: "nothing can be written to it (a socket, or a FIFO with no reader)",
    errno.EIO: "input/output error",
    errno.EFBIG: "file too large",
}


class PhasmError(Exception):
    """A problem the user can fix: the message says what is wrong and what to do.

    The command line prints ``phasm-perf: error: <message>`` and exits with ``exit_code``; it never
    prints a traceback for this type.
    """

    exit_code = 2

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class ProgramFailed(PhasmError):
    """The profiled program exited non-zero (its bundle is kept, status ``failed``)."""

    exit_code = 3


class ProgramInterrupted(PhasmError):
    """Profiling was interrupted (Ctrl-C, SIGTERM, or the program was killed); the bundle is kept."""

    exit_code = 130


class TooFewSamples(PhasmError):
    """The program ran too briefly for the sampler to see it."""

    exit_code = 4


def input_error(path: str | os.PathLike, exc: OSError) -> PhasmError:
    """The one-line error for an ``OSError`` met while reading ``path`` (exit 1 for a failing disk, else 2)."""
    reason = {errno.EISDIR: "it is a folder, not a file"}.get(exc.errno or 0) \
        or OS_REASONS.get(exc.errno or 0) or exc.strerror or type(exc).__name__
    return PhasmError(f"cannot read {str(path)!r}: {reason}", 1 if exc.errno in RUN_FAILURES else 2)
