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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from ...core.errors import PhasmError
from .base import Profile, damaged
from .text import open_text_lines

# stackcollapse-perf.pl's header and period patterns, with its nested ``(\d+)*`` made atomic (``(?=(\d*))\N``):
# the same matches and groups, without the exponential backtracking that a long run of digits with no space after
# it sets off (29 digits took minutes; the fuzzer found it)
_HEADER = re.compile(r"^(\S.+?)\s+(?=(\d+))\2/*(?=(\d*))\3\s+", re.ASCII)
_PERIOD_EVENT = re.compile(r":\s*(?=(\d*))\1\s+(\S+):\s*$", re.ASCII)
_FRAME = re.compile(r"^\s*(\w+)\s*(.+) \((.*)\)", re.ASCII)
#: a frame line without its ``(dso)`` (``perf script -F ip,sym``): read by :func:`read` only
_BARE_FRAME = re.compile(r"^\s+([0-9a-fA-F]+)\s+(\S.*?)()\s*$", re.ASCII)
#: where a header's process name ends when the script's pattern ran past it: a cpu, time or event field
_NAME_END = re.compile(r"\s+(\[\d+\]|\d+\.\d+:|[A-Za-z_]\S*:$)", re.ASCII)
_HEADLESS = ("[unknown]", "?", "?", "", None)
_IDS = re.compile(r"^(\d+)(?:/(\d+))?$", re.ASCII)
_EVENT_ONLY = re.compile(r"\s([A-Za-z_]\S*):\s*$", re.ASCII)
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


@dataclass(frozen=True)
class _Fold:
    """How frames are named (stackcollapse-perf.pl's options) and how lines are told apart (``lenient``)."""

    pid: bool = False
    tid: bool = False
    kernel: bool = False
    jit: bool = False
    addrs: bool = False
    lenient: bool = False


@dataclass
class _Folding:
    """The state of one pass over ``perf script`` text: the stacks so far and the sample being read."""

    opts: _Fold
    collapsed: Counter = field(default_factory=Counter)
    stack: list[str] = field(default_factory=list)
    pname: str | None = None
    period: int = 1
    with_period: bool = False
    event_filter: str = ""

    def close(self, frameless: bool = False) -> None:
        """The sample read so far is complete (``frameless``: kept even without frames, as the script does)."""
        if _perl_true(self.pname) and (self.stack or frameless):
            self.collapsed[(self.pname, *self.stack)] += self.period
        self.stack, self.pname = [], None

    def header(self, h: tuple[str, str, str, str, str | None]) -> None:
        comm, p, t, per, event = h
        if event is not None:
            if self.event_filter == "":
                self.event_filter = event  # only the first event type: mixing cycles and instructions misleads
            elif event != self.event_filter:
                return  # another event's sample: its frames are skipped (no name)
        self.period = int(per) if _perl_true(per) else 1
        self.with_period = self.with_period or _perl_true(per)
        o = self.opts
        self.pname = (f"{comm}-{p}/{t}" if o.tid else f"{comm}-{p}" if o.pid else comm).replace(" ", "_")


def _collapse(source, *, pid: bool = False, tid: bool = False, kernel: bool = False, jit: bool = False,
              addrs: bool = False, demangle: bool = False, lenient: bool = False) -> tuple[Counter, str, bool, int]:
    """The stacks, the event kept, whether samples carried a period, and (``lenient`` only) the number of a last
    line cut short while the file was written (0: none; that sample is left out).

    ``lenient`` (what :func:`read` does) reads the record structure instead of stackcollapse-perf.pl's patterns: a
    record's first line is its header whatever fields ``perf script -F`` chose (no pid, no time, no comm), frame
    lines need no ``(dso)``, a header's name stops at its cpu, time or event field, and a last record that no
    blank line closes is kept. Output that the script reads the same way gives the same stacks either way."""
    lines: Iterable[str] = open_text_lines(Path(source)) if isinstance(source, (str, os.PathLike)) else source
    names: dict[str, str] = {}
    if demangle:
        lines = list(lines)
        names = _demangled(lines)
    f = _Folding(_Fold(pid, tid, kernel, jit, addrs, lenient))
    in_record, raw, lineno, with_dso, last_frame_ok = False, "", 0, False, True
    for lineno, raw in enumerate(lines, 1):
        if raw.startswith("#"):
            continue
        line = raw.rstrip("\r\n") if lenient else raw.rstrip("\n")
        if line == "" or (lenient and line.isspace()):
            f.close(frameless=not lenient)
            in_record = False
            continue
        headless = False
        if not lenient:
            h = _perl_header(line)
        elif not in_record or not line[0].isspace():  # a record's first line
            f.close()  # a record that no blank line closed
            in_record = True
            headless = line[0].isspace() and _FRAME.match(line) is not None  # -F ip,sym,dso: no header
            h = _HEADLESS if headless else _lenient_header(line)
        else:
            h = None
        if h is not None:
            f.header(h)
            if not headless:
                continue
        m = _FRAME.match(line)
        with_dso = with_dso or m is not None
        last_frame_ok = m is not None or not with_dso
        m = m or (_BARE_FRAME.match(line) if lenient else None)
        if m and _perl_true(f.pname):  # else stackcollapse-perf.pl warns "Unrecognized line" and goes on
            f.stack[:0] = _frames(m.group(1), m.group(2), m.group(3) or "[unknown]", f.pname, names, f.opts)
    cut = bool(lenient and f.stack and not raw.endswith("\n") and not last_frame_ok)
    if lenient and not cut:
        f.close()  # a last sample with no blank line after it
    return f.collapsed, f.event_filter, f.with_period, lineno if cut else 0


def _demangled(lines: list[str]) -> dict[str, str]:
    raw = []
    for line in lines:
        m = _FRAME.match(line.rstrip("\n"))
        if m:
            raw.extend(_OFFSET.sub("", m.group(2)).split("->"))
    return demangle_names(raw)


def _perl_header(line: str) -> tuple[str, str, str, str, str | None] | None:
    """stackcollapse-perf.pl's header: ``(comm, pid, tid, period, event)``; None: not a header line."""
    m = _HEADER.match(line)
    if not m:
        return None
    comm, p, t = m.group(1), m.group(2), m.group(3)
    if not _perl_true(t):
        t, p = p, "?"
    pe = _PERIOD_EVENT.search(line)
    return comm, p, t, (pe.group(1) or "") if pe else "", pe.group(2) if pe else None


def _lenient_header(line: str) -> tuple[str, str, str, str, str | None]:
    """A record's first line, whatever fields it has: the name stops at the first cpu (``[003]``), time
    (``123.456:``) or event (``cycles:``) field; a lone number or ``PID/TID`` after it is the thread; with no
    name at all (``-F pid,ip,sym``) the name is ``[unknown]``."""
    m = _HEADER.match(line)
    head, p, t = (m.group(1), m.group(2), m.group(3)) if m else (line.rstrip(), None, None)
    cut = _NAME_END.search(head)
    if cut:  # the script took a time or cpu field for part of the name: what it took for the pid was not one
        head, p, t = head[:cut.start()], None, None
    head = head.strip()
    ids = _IDS.match(head)
    if ids:
        head, p, t = "[unknown]", ids.group(1), ids.group(2)
    if not _perl_true(t):
        t, p = p or "?", "?"
    pe = _PERIOD_EVENT.search(line) or _EVENT_ONLY.search(line)
    period = (pe.group(1) or "") if pe and pe.re is _PERIOD_EVENT else ""
    return head or "[unknown]", p, t, period, pe.group(pe.re.groups) if pe else None


def _frames(pc: str, rawfunc: str, mod: str, pname: str, names: dict[str, str], o: _Fold) -> list[str]:
    """One frame line as stackcollapse-perf.pl names it (an inlined chain ``a->b`` gives several, root first)."""
    rawfunc = _OFFSET.sub("", rawfunc)
    if rawfunc.startswith("("):
        return []  # a process name
    inline: list[str] = []
    for func in rawfunc.split("->"):
        func = names.get(func, func)
        if func == "[unknown]":
            func = mod.rsplit("/", 1)[-1] if mod != "[unknown]" else "unknown"
            func = f"[{func} <{pc}>]" if o.addrs else f"[{func}]"
        func = func.replace(";", ":")
        if not _GO_METHOD.search(func):
            func = _PAREN_NOISE.sub("", func, count=1)
        func = func.replace('"', "").replace("'", "")
        if pname == "java" and "/" in func and func.startswith("L"):
            func = func[1:]
        if inline:
            if "_[i]" not in func:
                func += "_[i]"
        elif o.kernel and _KERNEL_MOD.search(mod) and "unknown" not in mod:
            func += "_[k]"
        elif o.jit and _JIT_MOD.search(mod):
            if "_[j]" not in func:
                func += "_[j]"
        inline.append(func)
    return inline


__all__ = ["read_perf_script", "demangle_names", "read", "sniff"]


CLOCK_EVENTS = frozenset({"cpu-clock", "task-clock"})  # their period is in nanoseconds
_SNIFF_FRAME = re.compile(r"^\s+[0-9a-fA-F]+\s+\S", re.ASCII)


def sniff(head: str) -> bool:
    """``perf script`` output, whatever fields ``-F`` chose: records separated by blank lines, each a header line
    and then indented frame lines (an address, a symbol, perhaps ``(dso)``); CRLF and a BOM are fine."""
    frames = other = 0
    in_record = False
    for line in head.splitlines()[:400]:
        if line.startswith("#"):
            continue
        if not line.strip():
            in_record = False
        elif not in_record or not line[0].isspace():
            in_record = True  # a header
        elif _SNIFF_FRAME.match(line):
            frames += 1
        else:
            other += 1
    return frames > 0 and other <= frames // 10


def read(path: Path, pid: bool = False, tid: bool = False, kernel: bool = False, jit: bool = False,
         addrs: bool = False, demangle: bool = False, force: bool = False) -> Profile:
    stacks, event, with_period, cut = _collapse(path, pid=pid, tid=tid, kernel=kernel, jit=jit, addrs=addrs,
                                                demangle=demangle, lenient=True)
    if not stacks:
        raise PhasmError(f"{str(path)!r} holds no perf sample with a call stack; record with `perf record -g`")
    notes = [damaged(path, f"it was cut short (line {cut} ends inside a frame; its sample is left out)", force)] \
        if cut else []
    if with_period and event.split(":")[0] in CLOCK_EVENTS:
        return Profile(stacks, format="perf-script", weight_unit="ns", seconds_per_unit=1e-9,
                       notes=notes + [f"weights are {event} periods in nanoseconds"])
    what = f"{event} event counts (periods)" if with_period else "samples"
    return Profile(stacks, format="perf-script", weight_unit="period" if with_period else "samples",
                   notes=notes + [f"weights are {what}, not seconds" + (f" (event {event})" if event and
                                                                         not with_period else "")])
