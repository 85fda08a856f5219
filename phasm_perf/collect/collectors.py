"""Samplers that attach to a running program: Austin (default for Python) and py-spy.

Why Austin is the default: the on/off-CPU split must come from *one* run. py-spy's ``--idle`` adds the stacks of
waiting threads to its output but does not mark them, so on-CPU and off-CPU samples cannot be told apart
afterwards. Austin's full mode (``-f``) writes, with every sample, the wall-time since the previous sample and a
flag saying whether the thread was idle (not running on a CPU, as the kernel reports it). That gives both flame
graphs from the same run, weighted by wall time. py-spy stays available (``--collector py-spy``) for on-CPU stacks.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..calltree.folded import make_frame
from ..core.errors import PhasmError


@dataclass
class Samples:
    on_cpu: Counter = field(default_factory=Counter)
    off_cpu: Counter = field(default_factory=Counter)
    samples: int = 0
    invalid: int = 0
    threads: int = 0
    weight_unit: str = "us"
    seconds_per_unit: float = 1e-6


def _find_tool(name: str) -> str | None:
    """A tool named by ``$PHASM_PERF_<NAME>``, installed next to this interpreter (a venv's bin), or on PATH."""
    override = os.environ.get("PHASM_PERF_" + name.upper().replace("-", ""))
    if override is not None:
        return override if os.path.isfile(override) and os.access(override, os.X_OK) else None
    local = Path(sys.executable).parent / name
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    return shutil.which(name)


def _version(exe: str, flag: str = "-V") -> str | None:
    try:
        out = subprocess.run([exe, flag], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0] if text else None


def first_message(log: str) -> str:
    """The first line of a tool's log that says something (ANSI colours, banners and blank lines skipped)."""
    import re

    for line in log.splitlines():
        text = re.sub(r"\x1b?\[[0-9;]*m", "", line).strip()
        if re.search(r"[A-Za-z]{3,}", text):
            return text[:200]
    return ""


def attach_hint(tool: str) -> str:
    return (f"{tool} is not allowed to attach to the program: run as root, or allow ptrace with "
            "`sudo sysctl kernel.yama.ptrace_scope=0` (in a container: --cap-add SYS_PTRACE)")


class Austin:
    name = "austin"
    off_cpu = True

    def __init__(self, interval: float = 0.001) -> None:
        self.interval = interval
        exe = _find_tool("austin")
        if exe is None:
            raise PhasmError("Austin is not installed: pip install 'austin-dist<4' (or use --collector py-spy)")
        self.exe = exe

    @property
    def version(self) -> str | None:
        v = _version(self.exe)
        return v.split()[-1] if v else None

    def command(self, pid: int, out: Path) -> list[str]:
        us = max(50, int(round(self.interval * 1e6)))
        return [self.exe, "--full", "--children", f"--interval={us}", "--timeout=2s", f"--pid={pid}",
                f"--output={out}"]

    def parse(self, out: Path) -> Samples:
        return parse_austin(out)

    def explain_failure(self, stderr: str) -> str | None:
        low = " ".join(stderr.lower().split())
        if "permission" in low or "not permitted" in low or "eperm" in low:
            return attach_hint("Austin")
        if "not a python process" in low:
            # what Austin 3 says when it cannot read the target's memory (no ptrace permission)
            return ("Austin could not read the program's memory (it reports 'not a Python process'): "
                    + attach_hint("Austin").split(": ", 1)[1] + "; or try --collector py-spy")
        return None


def _austin_frame(text: str) -> str | None:
    # Austin 3: "file:function:line"; the file may itself contain ':' so split from the right.
    parts = text.rsplit(":", 2)
    if len(parts) != 3:
        return None
    file, func, line = parts
    if not line.isdigit():
        return None
    return make_frame(func, file, int(line))


def parse_austin(path: Path) -> Samples:
    """Austin 3 full-mode output into on-CPU and off-CPU stacks weighted in microseconds of wall time."""
    s = Samples()
    threads: set[str] = set()
    try:
        fh = open(path, encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return s
    with fh:
        for line in fh:
            if not line.startswith("P"):
                continue
            head, _, metrics = line.rstrip("\n").rpartition(" ")
            fields = metrics.split(",")
            try:
                delta = int(fields[0])
                idle = len(fields) > 1 and fields[1] == "1"
            except ValueError:
                s.invalid += 1
                continue
            parts = head.split(";")
            if len(parts) < 2:
                s.invalid += 1
                continue
            threads.add(parts[0] + ";" + parts[1])
            s.samples += 1
            raw = parts[2:]
            if not raw:  # a thread with no Python frame (starting up or finishing)
                continue
            if any(f.startswith(":INVALID:") or f == "INVALID" for f in raw):
                s.invalid += 1
                continue
            frames = tuple(f for f in (_austin_frame(r) for r in raw) if f)
            if not frames:
                s.invalid += 1
                continue
            (s.off_cpu if idle else s.on_cpu)[frames] += delta
    s.threads = len(threads)
    return s


class PySpy:
    name = "py-spy"
    off_cpu = False

    def __init__(self, interval: float = 0.001) -> None:
        self.interval = interval
        exe = _find_tool("py-spy")
        if exe is None:
            raise PhasmError("py-spy is not installed: pip install py-spy (or use --collector austin)")
        self.exe = exe

    @property
    def rate(self) -> int:
        return max(1, int(round(1.0 / self.interval)))

    @property
    def version(self) -> str | None:
        v = _version(self.exe, "--version")
        return v.split()[-1] if v else None

    def command(self, pid: int, out: Path) -> list[str]:
        return [self.exe, "record", "--pid", str(pid), "--rate", str(self.rate), "--format", "raw",
                "--full-filenames", "--subprocesses", "--nonblocking", "--output", str(out)]

    def parse(self, out: Path) -> Samples:
        from ..calltree.folded import read_folded

        s = Samples(weight_unit="samples", seconds_per_unit=1.0 / self.rate)
        if out.exists():
            s.on_cpu = read_folded(out)
            s.samples = int(sum(s.on_cpu.values()))
        return s

    def explain_failure(self, stderr: str) -> str | None:
        low = stderr.lower()
        if "permission denied" in low or "operation not permitted" in low:
            return attach_hint("py-spy")
        return None


def _native(module: str, cls: str):
    """Native collectors (perf, callgrind) live in their own modules, imported when chosen."""
    def make(interval: float):
        import importlib

        return getattr(importlib.import_module(f"{__package__}.{module}"), cls)(interval)
    return make


COLLECTORS = {"austin": Austin, "py-spy": PySpy, "perf": _native("perf", "Perf"),
              "callgrind": _native("callgrind", "Callgrind"), "scalene": _native("scalene", "Scalene")}


def make_collector(name: str, interval: float):
    try:
        return COLLECTORS[name](interval)
    except KeyError:
        raise PhasmError(f"unknown collector {name!r}; choose one of: {', '.join(COLLECTORS)}") from None
