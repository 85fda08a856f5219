"""Austin: the default collector for Python programs.

Why Austin is the default: the on/off-CPU split must come from *one* run. py-spy's ``--idle`` adds the stacks of
waiting threads to its output but does not mark them, so on-CPU and off-CPU samples cannot be told apart
afterwards. Austin's full mode (``-f``) writes, with every sample, the wall-time since the previous sample and a
flag saying whether the thread was idle (not running on a CPU, as the kernel reports it). That gives both flame
graphs from the same run, weighted by wall time. py-spy stays available (``--collector py-spy``) for on-CPU stacks.
"""

from __future__ import annotations

from pathlib import Path

from ..calltree.readers.austin import parse_austin
from ..calltree.readers.base import Profile
from ..core.errors import PhasmError
from .base import Collector, attach_hint, find_tool, tool_version
from .gate import line_buffered


class Austin(Collector):
    name = "austin"
    off_cpu = True
    min_interval = 50e-6

    def __init__(self, interval: float = 0.001) -> None:
        super().__init__(interval)
        exe = find_tool("austin")
        if exe is None:
            raise PhasmError("Austin is not installed: pip install 'austin-dist<4' (or use --collector py-spy)")
        self.exe = exe

    @property
    def version(self) -> str | None:
        v = tool_version(self.exe)
        return v.split()[-1] if v else None

    def command(self, pid: int, out: Path) -> list[str]:
        return [*self._sample(pid), f"--output={out}"]

    def piped_command(self, pid: int) -> list[str] | None:
        """The samples on standard output, a line at a time (the start gate reads the first as it comes: see
        :mod:`.gate`); None: no way to line-buffer it here."""
        return line_buffered(self._sample(pid))

    def _sample(self, pid: int) -> list[str]:
        us = max(int(self.min_interval * 1e6), int(round(self.interval * 1e6)))
        return [self.exe, "--full", "--children", f"--interval={us}", "--timeout=2s", f"--pid={pid}"]

    def parse(self, out: Path) -> Profile:
        return parse_austin(out)

    def explain_failure(self, stderr: str) -> str | None:
        low = " ".join(stderr.lower().split())
        if "permission" in low or "not permitted" in low or "eperm" in low:
            return attach_hint("Austin")
        if "not a python process" in low:
            # Austin 3 says this of a process that is not a Python interpreter, and of one whose memory it may not
            # read: which of the two, the caller's description of the process says ({what})
            # (phasm-perf attaches to a process it has checked is a Python interpreter: the memory read failed)
            return ("Austin could not read the memory of the Python interpreter{what} (it reports 'not a Python "
                    "process'): " + attach_hint("Austin").split(": ", 1)[1])
        return None
