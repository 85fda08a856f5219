"""py-spy: on-CPU stacks of a Python program (``--collector py-spy``). Its ``--idle`` adds waiting threads' stacks
without marking them, so on-CPU and off-CPU cannot be told apart: Austin is the default for that reason."""

from __future__ import annotations

from pathlib import Path

from ..calltree.readers.base import Profile
from ..core.errors import PhasmError
from ..core.folded import read_folded
from .base import Collector, attach_hint, find_tool, tool_version


class PySpy(Collector):
    name = "py-spy"

    def __init__(self, interval: float = 0.001) -> None:
        super().__init__(interval)
        exe = find_tool("py-spy")
        if exe is None:
            raise PhasmError("py-spy is not installed: pip install py-spy (or use --collector austin)")
        self.exe = exe

    @property
    def rate(self) -> int:
        return max(1, int(round(1.0 / self.interval)))

    @property
    def version(self) -> str | None:
        v = tool_version(self.exe, "--version")
        return v.split()[-1] if v else None

    def command(self, pid: int, out: Path) -> list[str]:
        return [self.exe, "record", "--pid", str(pid), "--rate", str(self.rate), "--format", "raw",
                "--full-filenames", "--subprocesses", "--nonblocking", "--output", str(out)]

    def parse(self, out: Path) -> Profile:
        s = Profile(format="py-spy", weight_unit="samples", seconds_per_unit=1.0 / self.rate)
        if out.exists():
            s.on_cpu = read_folded(out)
            s.samples = int(sum(s.on_cpu.values()))
        return s

    def explain_failure(self, stderr: str) -> str | None:
        low = stderr.lower()
        if "permission denied" in low or "operation not permitted" in low:
            return attach_hint("py-spy")
        return None
