"""``perf script`` text into folded stacks, exactly as FlameGraph's ``stackcollapse-perf.pl`` folds it.

The rules follow that script (its default mode and its ``--pid``, ``--tid``, ``--kernel``, ``--jit``, ``--all`` and
``--addrs`` options): the process name is the root frame; symbol offsets (``+0x1f``) are stripped; an ``[unknown]``
symbol takes its module's base name; ``;`` becomes ``:``, quotes go, and everything from the first ``(`` is dropped
(except Go methods and ``(anonymous namespace)``); Java signatures lose their leading ``L``; inlined frames
(``a->b``) are marked ``_[i]``; only the first event type seen is kept; each sample weighs its period when the
header has one, else 1. :func:`read` (the reader ``rank`` and ``flamegraph`` use) also keeps a last sample that no
blank line closes, which the script drops; :func:`read_perf_script` does exactly what the script does. Demangling (C++ and Rust, legacy and v0) is on request, through binutils' ``c++filt``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Iterable

from ...core.errors import PhasmError
from .base import Profile
from .text import open_text_lines

_HEADER = re.compile(r"^(\S.+?)\s+(\d+)/*(\d+)*\s+", re.ASCII)
_PERIOD_EVENT = re.compile(r":\s*(\d+)*\s+(\S+):\s*$", re.ASCII)
_FRAME = re.compile(r"^\s*(\w+)\s*(.+) \((.*)\)", re.ASCII)
_OFFSET = re.compile(r"\+0x[\da-f]+$")
_PAREN_NOISE = re.compile(r"\((?!anonymous namespace\)).*")
_GO_METHOD = re.compile(r"\.\(.*\)\.")
_KERNEL_MOD = re.compile(r"(^\[|vmlinux$)")
_JIT_MOD = re.compile(r"/tmp/perf-\d+\.map")
_RUST_HASH = re.compile(r"::h[0-9a-f]{16}$")
_RUST_DISAMBIGUATOR = re.compile(r"\[[0-9a-f]{1,16}\]")


def _perl_true(s: str | None) -> bool:
    return bool(s) and s != "0"


def demangle_names(names: Iterable[str]) -> dict[str, str]:
    """Demangle C++ (``_Z``) and Rust (legacy ``_ZN..17h<hash>E`` and v0 ``_R``) symbols with binutils' c++filt.

    Returns a map for the names that changed; Rust legacy hashes (``::h0123...``) are dropped, as rustfilt does.
    """
    todo = sorted({n for n in names if n.startswith(("_Z", "_R", "__Z", "__R"))})
    if not todo:
        return {}
    exe = shutil.which("c++filt")
    if exe is None:
        raise PhasmError("demangling needs binutils' c++filt: apt-get install binutils (or drop --demangle)")
    out = subprocess.run([exe], input="\n".join(todo) + "\n", capture_output=True, text=True, check=False)
    result = out.stdout.split("\n")
    mapping = {}
    for raw, dem in zip(todo, result):
        dem = _RUST_HASH.sub("", dem.strip())
        if raw.lstrip("_").startswith("R"):
            dem = _RUST_DISAMBIGUATOR.sub("", dem)  # v0: crate hashes, as rustfilt leaves them out
        if dem and dem != raw:
            mapping[raw] = dem
    return mapping


def read_perf_script(source: str | os.PathLike | Iterable[str], *, pid: bool = False, tid: bool = False,
                     kernel: bool = False, jit: bool = False, addrs: bool = False,
                     demangle: bool = False) -> Counter:
    """Fold ``perf script`` output (a path, or an iterable of lines) into ``Counter({root-first stack: weight})``.

    ``pid``/``tid`` append ``-PID`` or ``-PID/TID`` to the process name, ``kernel`` marks kernel frames ``_[k]``,
    ``jit`` marks frames from ``/tmp/perf-PID.map`` ``_[j]``, ``addrs`` keeps the raw address of unknown symbols
    (``[unknown <addr>]``), ``demangle`` demangles C++ and Rust names first.
    """
    return _collapse(source, pid=pid, tid=tid, kernel=kernel, jit=jit, addrs=addrs, demangle=demangle)[0]


def _collapse(source, *, pid: bool = False, tid: bool = False, kernel: bool = False, jit: bool = False,
              addrs: bool = False, demangle: bool = False, keep_last: bool = False) -> tuple[Counter, str, bool]:
    """The stacks, the event kept and whether samples carried a period."""
    if isinstance(source, (str, os.PathLike)):
        lines: Iterable[str] = open_text_lines(Path(source))
    else:
        lines = source
    names: dict[str, str] = {}
    if demangle:
        lines = list(lines)
        raw = []
        for line in lines:
            m = _FRAME.match(line.rstrip("\n"))
            if m:
                raw.extend(_OFFSET.sub("", m.group(2)).split("->"))
        names = demangle_names(raw)

    collapsed: Counter = Counter()
    stack: list[str] = []
    pname: str | None = None
    period = 1
    with_period = False
    event_filter = ""
    for line in lines:
        if line.startswith("#"):
            continue
        line = line.rstrip("\n")
        if line == "":
            if not _perl_true(pname):
                continue
            if stack:
                collapsed[(pname, *stack)] += period
            stack = []
            pname = None
            continue
        m = _HEADER.match(line)
        if m:
            comm, p, t = m.group(1), m.group(2), m.group(3)
            if not _perl_true(t):
                t, p = p, "?"
            pe = _PERIOD_EVENT.search(line)
            per = ""
            if pe:
                per = pe.group(1) or ""
                event = pe.group(2)
                if event_filter == "":
                    event_filter = event  # only the first event type: mixing cycles and instructions misleads
                elif event != event_filter:
                    continue
            period = int(per) if _perl_true(per) else 1
            with_period = with_period or _perl_true(per)
            pname = f"{comm}-{p}/{t}" if tid else f"{comm}-{p}" if pid else comm
            pname = pname.replace(" ", "_")
            continue
        m = _FRAME.match(line)
        if not m:
            continue  # stackcollapse-perf.pl warns "Unrecognized line" and goes on
        if not _perl_true(pname):
            continue
        pc, rawfunc, mod = m.group(1), m.group(2), m.group(3)
        rawfunc = _OFFSET.sub("", rawfunc)
        if rawfunc.startswith("("):
            continue  # a process name
        inline: list[str] = []
        for func in rawfunc.split("->"):
            func = names.get(func, func)
            if func == "[unknown]":
                if mod != "[unknown]":
                    func = mod.rsplit("/", 1)[-1]
                else:
                    func = "unknown"
                func = f"[{func} <{pc}>]" if addrs else f"[{func}]"
            func = func.replace(";", ":")
            if not _GO_METHOD.search(func):
                func = _PAREN_NOISE.sub("", func, count=1)
            func = func.replace('"', "").replace("'", "")
            if pname == "java" and "/" in func and func.startswith("L"):
                func = func[1:]
            if inline:
                if "_[i]" not in func:
                    func += "_[i]"
            elif kernel and _KERNEL_MOD.search(mod) and "unknown" not in mod:
                func += "_[k]"
            elif jit and _JIT_MOD.search(mod):
                if "_[j]" not in func:
                    func += "_[j]"
            inline.append(func)
        stack[:0] = inline
    if keep_last and stack and _perl_true(pname):
        collapsed[(pname, *stack)] += period  # a last sample with no blank line after it
    return collapsed, event_filter, with_period


__all__ = ["read_perf_script", "demangle_names", "read", "sniff"]


CLOCK_EVENTS = frozenset({"cpu-clock", "task-clock"})  # their period is in nanoseconds
_SNIFF_FRAME = re.compile(r"^\s+[0-9a-fA-F]+ .+ \(.*\)$", re.M | re.ASCII)


def sniff(head: str) -> bool:
    lines = [ln for ln in head.splitlines()[:200] if ln.strip() and not ln.startswith("#")]
    return bool(lines) and bool(_HEADER.match(lines[0])) and bool(_SNIFF_FRAME.search(head))


def read(path: Path, pid: bool = False, tid: bool = False, kernel: bool = False, jit: bool = False,
         addrs: bool = False, demangle: bool = False) -> Profile:
    stacks, event, with_period = _collapse(path, pid=pid, tid=tid, kernel=kernel, jit=jit, addrs=addrs,
                                           demangle=demangle, keep_last=True)
    if not stacks:
        raise PhasmError(f"{str(path)!r} holds no perf sample with a call stack; record with `perf record -g`")
    if with_period and event.split(":")[0] in CLOCK_EVENTS:
        return Profile(stacks, format="perf-script", weight_unit="ns", seconds_per_unit=1e-9,
                       notes=[f"weights are {event} periods in nanoseconds"])
    what = f"{event} event counts (periods)" if with_period else "samples"
    return Profile(stacks, format="perf-script", weight_unit="period" if with_period else "samples",
                   notes=[f"weights are {what}, not seconds" + (f" (event {event})" if event and not with_period
                                                                else "")])
