"""Scalene as a collector (``profile --collector scalene``): it runs the Python program itself
(``python -m scalene run``) and reports, per line, the time in Python, in native code and in the system, and memory.

The bundle's stacks are ``function (file:line);[python]`` / ``[native]`` / ``[system]`` in microseconds (see
:mod:`phasm_perf.calltree.readers.scalene`); ``scalene.json`` keeps the per-line table with memory. Where PyTorch is
installed Scalene would wrap the run in torch.profiler (20 to 400 times slower here), so ``--cpu-only`` is passed
there; elsewhere memory is profiled too. Scalene takes no off-CPU samples and no call counts.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections import Counter
from pathlib import Path

from ..core.errors import PhasmError
from ..calltree.readers.base import Profile
from .base import Collector, first_message


def _is_python(exe: str) -> bool:
    name = os.path.basename(exe)
    return name.startswith("python") or os.path.realpath(exe) == os.path.realpath(sys.executable)


class Scalene(Collector):
    name = "scalene"
    launches = True

    def __init__(self, interval: float = 0.001) -> None:
        super().__init__(interval)
        if importlib.util.find_spec("scalene") is None:
            raise PhasmError("Scalene is not installed: pip install 'scalene>=2' (or use the default collector)")
        self.cpu_only = importlib.util.find_spec("torch") is not None

    @property
    def version(self) -> str | None:
        try:
            from importlib.metadata import version

            return version("scalene")
        except Exception:  # pragma: no cover - metadata missing
            return None

    def command(self, argv: list[str], out: Path) -> list[str]:
        if argv == ["PROG"]:  # how the bundle shows the command
            script, args = "PROG", []
        elif len(argv) >= 2 and _is_python(argv[0]) and argv[1].endswith(".py"):
            script, args = argv[1], argv[2:]
        else:
            raise PhasmError("--collector scalene profiles a Python script (prog.py [ARGS...]); "
                             f"{' '.join(argv[:2])!r} is not one")
        cmd = [sys.executable, "-m", "scalene", "run", "-o", str(out)]
        if self.cpu_only:
            cmd.append("--cpu-only")
        cmd.append(script)
        if args:
            cmd += ["---", *args]
        return cmd

    def parse(self, raw: Path) -> Profile:
        from ..calltree.readers.scalene import read, scalene_lines

        s = Profile(weight_unit="us", seconds_per_unit=1e-6)
        if not raw.exists() and raw.with_suffix(".json").exists():
            raw.with_suffix(".json").replace(raw)  # Scalene gives its output file a .json suffix
        if not raw.exists() or raw.stat().st_size == 0:
            self.notes.append("Scalene wrote no profile (see collector.log)")
            return s
        prof = read(raw)
        s.on_cpu = +Counter({k: int(round(w * 1e6)) for k, w in prof.on_cpu.items()})
        s.samples = len(s.on_cpu)
        lines = scalene_lines(raw)
        busy = lines[(lines[["python_seconds", "native_seconds", "system_seconds"]].sum(axis=1) > 0)
                     | (lines["peak_mb"] > 0)]
        self.extra = {"cpu_only": self.cpu_only, "lines": busy.to_dict(orient="records")}
        self.notes += prof.notes
        if self.cpu_only:
            self.notes.append("Scalene ran with --cpu-only (PyTorch is installed): no memory profile")
        return s

    def explain_failure(self, log: str) -> str | None:
        if "ambiguous option" in log:
            return ("Scalene read one of the program's options as its own (" + first_message(log) +
                    "); write the option in full (--name=value) or use another collector")
        return None

