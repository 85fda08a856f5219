"""The Python interpreter behind a launcher: what an attaching sampler (Austin, py-spy) must attach to.

A Python program is often not started by its interpreter directly: a shim (pyenv's ``python3`` is a bash script
that ends in ``exec``), a wrapper script, ``env``, ``uv run``, ``conda run``, ``mpirun -n 1``, a module system's
wrapper. The process phasm-perf starts is then a shell or a launcher; the interpreter appears later, in the same
process after one or more ``exec`` (the shim) or as a descendant (``uv run``, ``conda run``, ``mpirun``). An attaching
sampler started on the first pid sees no Python and gives up. :func:`find_interpreter` waits for the interpreter
and names its pid: the process of the tree whose executable is a Python interpreter (by name, or because it maps
``libpython``) and, when the user's script is known, whose command line runs that script (``conda run`` is itself
a Python program: its own interpreter runs ``conda``, not the user's script). Without a known script, the deepest
interpreter of the tree is taken once it has had a moment to start a child of its own.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

_PYTHON_EXE = re.compile(r"^(python|pypy)[\d.]*[a-z]?$")
#: interpreter options that take a value (``-X dev``, ``-W error``)
_WITH_VALUE = {"-X", "-W", "--check-hash-based-pycs"}
#: how long a launcher's interpreter is given to start the user's own interpreter under it, when the script is
#: not known (``uv run -m pkg``)
SETTLE = 0.3


@dataclass(frozen=True)
class Interpreter:
    pid: int
    exe: str
    cmdline: tuple[str, ...]
    depth: int


def is_interpreter(pid: int) -> str | None:
    """The executable of ``pid`` when it is a Python interpreter (named python*/pypy*, or mapping libpython);
    None otherwise (a shell, a launcher, a process that is gone)."""
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None
    if _PYTHON_EXE.match(os.path.basename(exe)):
        return exe
    try:
        with open(f"/proc/{pid}/maps", encoding="utf-8", errors="replace") as fh:
            if any("libpython" in line for line in fh):
                return exe
    except OSError:
        return None
    return None


def script_of(cmdline: list[str] | tuple[str, ...]) -> str | None:
    """What an interpreter's command line runs: the script's path, ``-m MODULE``, ``-c``; None: none (a REPL)."""
    args = list(cmdline[1:])
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("-m", "-c"):
            return f"{a} {args[i + 1]}" if a == "-m" and i + 1 < len(args) else a
        if a in _WITH_VALUE:
            i += 2
            continue
        if a.startswith("-") and a != "-":
            i += 1
            continue
        return a
    return None


def _tree(root: int) -> list[tuple[int, int]]:
    """``(pid, depth)`` of ``root`` and its descendants."""
    out = [(root, 0)]
    try:
        kids = psutil.Process(root).children(recursive=True)
    except psutil.Error:
        return out
    parents = {root: 0}
    for k in kids:
        try:
            parents[k.pid] = parents.get(k.ppid(), 0) + 1
        except psutil.Error:
            continue
        out.append((k.pid, parents[k.pid]))
    return out


def _interpreters(root: int) -> list[Interpreter]:
    found = []
    for pid, depth in _tree(root):
        exe = is_interpreter(pid)
        if exe is None:
            continue
        try:
            cmd = tuple(psutil.Process(pid).cmdline())
        except psutil.Error:
            continue
        found.append(Interpreter(pid, exe, cmd, depth))
    return found


def _runs(interp: Interpreter, script: Path | None, cwd: str | None) -> bool:
    got = script_of(interp.cmdline)
    if script is None or got is None or got.startswith("-"):
        return False
    path = Path(got) if os.path.isabs(got) else Path(cwd or os.getcwd()) / got
    try:
        return path.resolve() == script.resolve()
    except OSError:
        return False


def find_interpreter(proc, script: Path | None = None, cwd: str | None = None, poll: float = 0.005,
                     timeout: float | None = None, module: str | None = None) -> Interpreter | None:
    """Wait for the Python interpreter under ``proc`` (a :class:`subprocess.Popen`) and return it; None when the
    process tree ends (or ``timeout`` passes) without one. ``script`` (a path) or ``module`` (``-m pkg.mod``): what
    the program's interpreter runs, taken at once when seen; otherwise the deepest interpreter once it has settled
    (a launcher may still start another)."""
    t0 = time.monotonic()
    first_seen: dict[int, float] = {}
    while proc.poll() is None:
        now = time.monotonic()
        found = _interpreters(proc.pid)
        match = [i for i in found if (script is not None and _runs(i, script, cwd))
                 or (module is not None and script_of(i.cmdline) == module)]
        if match:
            return max(match, key=lambda i: i.depth)
        if found:
            deepest = max(found, key=lambda i: i.depth)
            first_seen.setdefault(deepest.pid, now)
            if now - first_seen[deepest.pid] >= (SETTLE if script is None else 2 * SETTLE):
                return deepest
        if timeout is not None and now - t0 > timeout:
            return None
        time.sleep(poll)
    return None


def describe(pid: int) -> str:
    """``bash (/root/.pyenv/shims/python3)``: what a pid is, for a message."""
    try:
        p = psutil.Process(pid)
        return f"{p.name()} ({' '.join(p.cmdline()[:3])})"
    except psutil.Error:
        return f"pid {pid} (gone)"


__all__ = ["Interpreter", "find_interpreter", "is_interpreter", "script_of", "describe"]
