"""The one error type the command line turns into a one-line message and an exit code."""

from __future__ import annotations


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
