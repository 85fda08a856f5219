"""What every collector is (:class:`Collector`), and the helpers they share: finding a tool, its version, the
first line of its log that says something, the hint when it may not attach.

A collector either *attaches* to the running program by pid (Austin, py-spy) or *launches* it (``perf record --
PROG``, valgrind, Scalene). :func:`phasm_perf.collect.run.profile` drives either the same way: ``command``, then
``parse`` of what it wrote, then the optional steps below (no-ops here)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from ..calltree.readers.base import Profile

if TYPE_CHECKING:  # the bundle's types (pydantic) are not imported before a program starts (start-up time)
    from ..core.bundle import CountsInfo


class Collector:
    """The base of every collector; a subclass sets ``name`` and overrides what differs."""

    name: ClassVar[str]
    #: whether it records off-CPU stacks (sleeping and blocked threads) from the same run
    off_cpu: bool = False
    #: it runs the program itself (``command(argv, out)``) instead of attaching to a running one (``command(pid, out)``)
    launches: ClassVar[bool] = False
    #: why off-CPU stacks are missing when they could have been recorded (shown as a note), else None
    off_cpu_note: str | None = None
    #: the shortest interval the sampler takes (seconds); a shorter ``--interval`` is raised to it, and said
    min_interval: ClassVar[float] = 0.0

    def __init__(self, interval: float = 0.001) -> None:
        self.interval = interval
        self.notes: list[str] = []        # lines for the bundle's notes
        self.extra: dict = {}             # written to NAME.json in the bundle when not empty
        self.inlined: dict[str, dict[str, str]] = {}  # per object file: inlined frame -> its caller (native)
        self.modules: set[str] = set()    # object files seen in the stacks (native)
        self.overloads = None  # the program's overloaded functions by address (native: .native.OverloadMap)

    @property
    def version(self) -> str | None:
        return None

    def command(self, target: int | list[str], out: Path) -> list[str]:
        """The collector's argv: attached to pid ``target``, or launching the program's argv ``target``; it writes
        its raw output to ``out``."""
        raise NotImplementedError

    def piped_command(self, pid: int) -> list[str] | None:
        """An attaching sampler's argv writing its samples, line by line, to standard output: what lets the
        program start only once it is sampled (:mod:`.gate`); None: this collector cannot."""
        return None

    def parse(self, out: Path) -> Profile:
        raise NotImplementedError

    def explain_failure(self, log: str) -> str | None:
        """One line saying why the collector failed and how to fix it, from its log; None: nothing known."""
        return None

    def calibrate(self, argv: list[str], cwd: str | None) -> None:
        """Called before ``parse`` after a clean run (callgrind times a native run to turn instructions into
        seconds)."""

    def counts(self, index) -> CountsInfo | None:
        """The collector's own exact call counts (callgrind), keyed like the call tree; None: it has none."""
        return None


def find_tool(name: str) -> str | None:
    """A tool named by ``$PHASM_PERF_<NAME>``, installed next to this interpreter (a venv's bin), or on PATH."""
    override = os.environ.get("PHASM_PERF_" + name.upper().replace("-", ""))
    if override is not None:
        return override if os.path.isfile(override) and os.access(override, os.X_OK) else None
    local = Path(sys.executable).parent / name
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    return shutil.which(name)


def tool_version(exe: str, flag: str = "-V") -> str | None:
    try:
        out = subprocess.run([exe, flag], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0] if text else None


def first_message(log: str) -> str:
    """The first line of a tool's log that says something (ANSI colours, banners and blank lines skipped)."""
    for line in log.splitlines():
        text = re.sub(r"\x1b?\[[0-9;]*m", "", line).strip()
        if re.search(r"[A-Za-z]{3,}", text):
            return text[:200]
    return ""


def ptrace_scope() -> str | None:
    try:
        return Path("/proc/sys/kernel/yama/ptrace_scope").read_text().strip()
    except OSError:
        return None


def attach_hint(tool: str) -> str:
    """Why ``tool`` may not read another process's memory here, and what to change, as this user (``{what}`` is
    where the caller puts what it attached to)."""
    scope = ptrace_scope()
    if os.geteuid() == 0:
        if scope == "3":
            return (f"{tool} may not attach{{what}}: kernel.yama.ptrace_scope is 3 (no process may be traced, even "
                    "by root, until the next boot)")
        return (f"{tool} may not attach{{what}}, even as root: the container or a security module (seccomp, "
                "AppArmor, SELinux) forbids ptrace; run the container with --cap-add SYS_PTRACE (or "
                "--security-opt seccomp=unconfined), or use `--collector perf` for a compiled program")
    extra = f" (kernel.yama.ptrace_scope is {scope})" if scope not in (None, "0") else ""
    return (f"{tool} may not attach{{what}}{extra}: run phasm-perf as root, or allow ptrace with "
            "`sudo sysctl kernel.yama.ptrace_scope=0` (in a container: --cap-add SYS_PTRACE)")


