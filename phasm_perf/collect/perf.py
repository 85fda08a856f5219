"""Linux ``perf`` for compiled programs: on-CPU and off-CPU stacks from one run.

One ``perf record`` runs the program (``perf record ... -- PROG ARGS``, so nothing of the start is lost) with:

- ``cpu-clock/period=N/``: a software event, so it works in VMs and containers without hardware counters. A fixed
  period in nanoseconds of CPU time (the ``--interval``) makes every on-CPU sample worth exactly N ns.
- ``sched:sched_switch``: a sample, with its call stack, each time a thread of the program leaves the CPU; its
  ``prev_state`` says why (``R``: preempted while runnable; ``S``/``D``: sleeping or blocked on I/O).
- ``--switch-events``: a ``PERF_RECORD_SWITCH IN`` record when the thread is back on a CPU. The time from the
  switch-out to the next switch-in of the same thread is the off-CPU time of the stack taken at the switch-out.
- ``--call-graph dwarf``: user stacks unwound from DWARF CFI, because libc, libm and most distribution libraries
  are built without frame pointers, and frame-pointer stacks lose the caller of every frame in them.

Why this and not the alternatives: ``sched_stat_sleep``/``sched_stat_blocked`` with ``perf inject -s`` need
``kernel.sched_schedstats=1`` (a system-wide cost, off by default) and miss time spent runnable; ``perf trace``
sees system calls, not page faults or lock waits, and costs a lot per call; ``perf sched record`` is system-wide
(``-a``, more privilege, more data). A switch-out/switch-in pair per thread gives the exact wall time each stack
spent off the CPU, in the same run and the same clock as the on-CPU samples, and it separates preemption (the
program wanted the CPU; counted in a note, not as off-CPU) from sleeping and blocking (off-CPU).

Where the tracepoint cannot be read (not root, ``/sys/kernel/tracing`` closed, a container) perf still samples
on-CPU stacks, and the bundle says in one line that off-CPU time is missing and what to change. The stacks are
folded by the issue-3 reader (:func:`phasm_perf.calltree.readers.perf_script.read_perf_script`, FlameGraph's
rules); this module only splits the events and weighs them.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from ..core.errors import PhasmError
from ..calltree.readers.base import Profile
from .base import Collector, find_tool, first_message, tool_version

#: the one line for a machine where perf may not open events
PARANOID_HINT = ("perf is not permitted to open performance events here (kernel.perf_event_paranoid={level}): "
                 "run `sudo sysctl kernel.perf_event_paranoid=1` (in a container: --cap-add PERFMON or "
                 "--privileged), or use --collector callgrind")
NOT_INSTALLED = ("perf is not installed: `make setup` installs it (Debian package linux-perf; Ubuntu: "
                 "linux-tools-generic), or use --collector callgrind")


def paranoid_level() -> str:
    try:
        return Path("/proc/sys/kernel/perf_event_paranoid").read_text().strip()
    except OSError:
        return "unknown"


@dataclass
class PerfAccess:
    """What this machine lets perf do, found by recording ``true`` once with each event set."""

    on_cpu: bool
    off_cpu: bool
    reason: str | None = None      # why on-CPU sampling is impossible (one line for the user)
    off_cpu_reason: str | None = None
    #: ``--no-bpf-event`` where perf knows it: reading every loaded BPF program's info costs ~1 s per record
    flags: tuple[str, ...] = ()


def explain_perf_failure(log: str) -> str:
    """One line from what perf printed when it could not record."""
    low = " ".join(log.lower().split())
    if ("perf_event_paranoid" in low or "no permission to enable" in low or "operation not permitted" in low
            or "permission denied" in low or "access to performance monitoring" in low):
        return PARANOID_HINT.format(level=paranoid_level())
    if "not found for kernel" in low or "you may need to install" in low:
        return NOT_INSTALLED.replace("perf is not installed", "perf does not match this kernel")
    return f"perf cannot record here: {first_message(log) or 'no message'}; use --collector callgrind"


def _off_cpu_reason(log: str) -> str:
    low = " ".join(log.lower().split())
    if "no permissions to read" in low or "can't access trace events" in low:
        return ("off-CPU stacks need the sched:sched_switch tracepoint, which perf may not read here: run as root or "
                "`sudo mount -o remount,mode=755 /sys/kernel/tracing` with kernel.perf_event_paranoid=-1")
    if "unknown tracepoint" in low or "not found" in low:
        return ("off-CPU stacks need the sched:sched_switch tracepoint, and tracefs is not mounted here: "
                "`sudo mount -t tracefs nodev /sys/kernel/tracing` (in a container: mount it from the host)")
    return f"off-CPU stacks need the sched:sched_switch tracepoint: {first_message(log) or 'perf refused it'}"


@functools.lru_cache(maxsize=8)
def probe_access(exe: str) -> PerfAccess:
    """Record ``true`` with the on-CPU event, then with the off-CPU events: what works here, and why not."""
    def attempt(args: list[str]) -> tuple[bool, str]:
        with tempfile.TemporaryDirectory(prefix="phasm-perf-probe-") as tmp:
            try:
                p = subprocess.run([exe, "record", "-q", "-o", os.path.join(tmp, "probe.data"), *args, "--", "true"],
                                   capture_output=True, text=True, errors="replace", timeout=60,
                                   stdin=subprocess.DEVNULL)
            except (OSError, subprocess.TimeoutExpired) as exc:
                return False, str(exc)
        return p.returncode == 0, p.stderr + p.stdout

    flags: tuple[str, ...] = ("--no-bpf-event",)
    ok, log = attempt([*flags, "-e", "cpu-clock"])
    if not ok and ("unknown option" in log or "no-bpf-event" in log):
        flags = ()
        ok, log = attempt(["-e", "cpu-clock"])
    if not ok:
        return PerfAccess(False, False, reason=explain_perf_failure(log))
    ok, log = attempt([*flags, "-e", "cpu-clock", "-e", "sched:sched_switch", "--switch-events"])
    return PerfAccess(True, ok, off_cpu_reason=None if ok else _off_cpu_reason(log), flags=flags)


def perf_exe() -> str | None:
    return find_tool("perf")


def choose_native_collector() -> tuple[str, str | None]:
    """``perf`` where it may record, else ``callgrind`` (with the one-line reason), else a :class:`PhasmError`."""
    import shutil

    exe = perf_exe()
    reason = NOT_INSTALLED
    if exe is not None:
        access = probe_access(exe)
        if access.on_cpu:
            return "perf", None
        reason = access.reason or reason
    if shutil.which("valgrind"):
        why = reason.replace(", or use --collector callgrind", "").replace("; use --collector callgrind", "")
        return "callgrind", f"profiled with callgrind (on-CPU only, slower) because {why[0].lower() + why[1:]}"
    raise PhasmError(reason.replace("or use --collector callgrind", "or install valgrind for --collector callgrind"))


# -- the perf script text, event by event --------------------------------------------------------------------

_TIME = re.compile(r"\s(\d+\.\d+):\s")
_SWITCH = re.compile(r"^(?P<comm>.+?)\s+(?:(?P<pid>\d+)/)?(?P<tid>\d+)\s+(?:\[\d+\]\s+)?(?P<time>\d+\.\d+):\s+"
                     r"PERF_RECORD_SWITCH(?:_CPU_WIDE)?\s+(?P<dir>IN|OUT)")
_HEAD_TID = re.compile(r"^(?P<comm>.+?)\s+(?:(?P<pid>\d+)/)?(?P<tid>\d+)\s+(?:\[\d+\]\s+)?\d+\.\d+:")
_PREV_STATE = re.compile(r"prev_pid=(\d+)\s.*?prev_state=(\S+)")


@dataclass
class _Event:
    header: str
    frames: list[str]
    kind: str          # oncpu | switch
    tid: int
    time: float
    state: str = ""


@dataclass
class PerfEvents:
    """The events of one ``perf script`` text: on-CPU samples and off-CPU intervals, ready to be folded."""

    on_cpu_lines: list[str] = field(default_factory=list)
    off_cpu_lines: list[str] = field(default_factory=list)
    samples: int = 0
    switches: int = 0
    preempted_ns: int = 0
    unmatched: int = 0
    threads: set = field(default_factory=set)
    unknown_ns: int = 0
    unknown_modules: Counter = field(default_factory=Counter)
    on_ns: int = 0
    #: inlined frames: containing module -> {symbol as perf printed it: an address where it was inlined}
    inlined: dict = field(default_factory=dict)
    #: every module (binary, shared object) seen in a frame
    modules: set = field(default_factory=set)


def _blocks(lines: Iterator[str]) -> Iterator[tuple[str, list[str]]]:
    header: str | None = None
    frames: list[str] = []
    for line in lines:
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            if header is not None:
                yield header, frames
            header, frames = None, []
            continue
        if line[0].isspace():
            if header is not None:
                frames.append(line)
            continue
        if header is not None:
            yield header, frames
        header, frames = line, []
    if header is not None:
        yield header, frames


def _block_text(header: str, frames: list[str], weight_ns: int, event: str) -> list[str]:
    """A block rewritten with its weight as the period and one event name, for the reader to fold."""
    m = _HEAD_TID.match(header)
    comm, pid, tid = (m.group("comm"), m.group("pid"), m.group("tid")) if m else ("?", None, "0")
    ident = f"{pid}/{tid}" if pid else tid
    return [f"{comm} {ident} 0.0: {weight_ns} {event}:\n", *(f + "\n" for f in frames), "\n"]


_UNKNOWN_FRAME = re.compile(r"^\s*\w+\s+\[unknown\]\s+\((.*)\)\s*$")
_FRAME_PARTS = re.compile(r"^\s*([0-9a-fA-F]+)\s+(.+?)(?:\+0x[0-9a-fA-F]+)?\s+\((.*)\)\s*$")


def _note_inlined(frames: list[str], into: dict, modules: set) -> None:
    """perf lists an address's inline chain as ``(inlined)`` lines above the real frame at the same address; the
    modules of all frames are collected on the way."""
    parts = [_FRAME_PARTS.match(f) for f in frames]
    modules.update(m.group(3) for m in parts if m)
    for i, m in enumerate(parts):
        if not m or m.group(3) != "inlined":
            continue
        for n in parts[i + 1:]:
            if not n or n.group(1) != m.group(1):
                break
            if n.group(3) != "inlined":
                into.setdefault(n.group(3), {}).setdefault(m.group(2), m.group(1))
                break


def split_events(lines: Iterator[str], period_ns: int) -> PerfEvents:
    """Walk the ``perf script --show-switch-events`` text: cpu-clock samples become on-CPU blocks weighted
    ``period_ns``; each ``sched_switch`` out of a sleeping/blocked state becomes an off-CPU block weighted by the
    nanoseconds until the same thread's next ``PERF_RECORD_SWITCH IN``."""
    ev = PerfEvents()
    pending: dict[int, tuple[str, list[str], float, str]] = {}
    for header, frames in _blocks(lines):
        sw = _SWITCH.match(header)
        if sw:
            if sw.group("dir") == "IN":
                tid = int(sw.group("tid"))
                out = pending.pop(tid, None)
                if out is not None:
                    h, fr, t0, state = out
                    ns = max(0, int(round((float(sw.group("time")) - t0) * 1e9)))
                    if state.startswith("R"):
                        ev.preempted_ns += ns
                    elif ns > 0:
                        ev.off_cpu_lines += _block_text(h, fr, ns, "offcpu")
            continue
        if "sched:sched_switch:" in header:
            m = _PREV_STATE.search(header)
            t = _TIME.search(header)
            if not m or not t:
                continue
            ev.switches += 1
            tid = int(m.group(1))
            ev.threads.add(tid)
            if tid in pending:
                ev.unmatched += 1
            pending[tid] = (header, frames, float(t.group(1)), m.group(2))
            _note_inlined(frames, ev.inlined, ev.modules)
            continue
        if "cpu-clock" in header:
            m = _HEAD_TID.match(header)
            if m:
                ev.threads.add(int(m.group("tid")))
            ev.samples += 1
            ev.on_ns += period_ns
            unknown = [u.group(1) for u in map(_UNKNOWN_FRAME.match, frames) if u]
            if unknown:
                ev.unknown_ns += period_ns
                ev.unknown_modules.update(set(unknown))
            ev.on_cpu_lines += _block_text(header, frames, period_ns, "oncpu")
            _note_inlined(frames, ev.inlined, ev.modules)
    ev.unmatched += len(pending)  # threads that never came back (the program ended while they slept)
    return ev


class Perf(Collector):
    """``perf record`` running the program; ``perf script`` afterwards (see the module docstring)."""

    name = "perf"
    launches = True      # runs the program itself: command() wraps its argv
    min_interval = 10e-6  # a cpu-clock period under 10 µs costs more than it measures

    def __init__(self, interval: float = 0.001, access: PerfAccess | None = None) -> None:
        super().__init__(interval)
        exe = perf_exe()
        if exe is None:
            raise PhasmError(NOT_INSTALLED)
        self.exe = exe
        self.access = access or probe_access(exe)
        if not self.access.on_cpu:
            raise PhasmError(self.access.reason or "perf cannot record here; use --collector callgrind")
        self.off_cpu = self.access.off_cpu

    @property
    def off_cpu_note(self) -> str | None:
        """The one line a profile without off-CPU stacks carries: why, and what to change."""
        if self.off_cpu or not self.access.off_cpu_reason:
            return None
        return f"perf recorded on-CPU stacks only: {self.access.off_cpu_reason}"

    @property
    def period_ns(self) -> int:
        return max(int(round(self.min_interval * 1e9)), int(round(self.interval * 1e9)))

    @property
    def version(self) -> str | None:
        v = tool_version(self.exe, "--version")
        return v.split()[-1] if v else None

    def command(self, argv: list[str], out: Path) -> list[str]:
        events = ["-e", f"cpu-clock/period={self.period_ns}/"]
        if self.off_cpu:
            events += ["-e", "sched:sched_switch", "--switch-events"]
        return [self.exe, "record", "-q", *self.access.flags, "-o", str(out), *events, "--call-graph", "dwarf", "--",
                *argv]

    def script(self, raw: Path, text: Path) -> None:
        with open(text, "wb") as fh:
            p = subprocess.run([self.exe, "script", "-i", str(raw), "--show-switch-events"], stdout=fh,
                               stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        err = p.stderr.decode(errors="replace")
        if p.returncode != 0:
            raise PhasmError(f"`perf script` could not read {raw}: {first_message(err) or 'no message'}")
        lost = re.search(r"lost (\d+) chunks", err) or re.search(r"lost (\d+) (?:samples|events)", err)
        if lost:
            self.notes.append(f"perf lost {lost.group(1)} chunks of events (it could not write them fast enough): "
                              "shares are from what was kept; a larger --interval loses fewer")

    def parse(self, raw: Path) -> Profile:
        from ..calltree.readers.perf_script import read_perf_script

        s = Profile(weight_unit="ns", seconds_per_unit=1e-9)
        if not raw.exists() or raw.stat().st_size == 0:
            return s
        text = raw.with_suffix(".script")
        self.script(raw, text)
        with open(text, encoding="utf-8", errors="replace") as fh:
            ev = split_events(fh, self.period_ns)
        text.unlink(missing_ok=True)
        from .native import keep_overloads_apart

        s.on_cpu = read_perf_script(keep_overloads_apart(ev.on_cpu_lines, self.overloads), kernel=True, demangle=True)
        s.off_cpu = read_perf_script(keep_overloads_apart(ev.off_cpu_lines, self.overloads), kernel=True,
                                     demangle=True)
        s.samples = ev.samples + ev.switches
        self.inlined = ev.inlined
        self.modules = ev.modules
        s.threads = len(ev.threads)
        self.extra = {
            "period_ns": self.period_ns,
            "on_cpu_samples": ev.samples,
            "switch_outs": ev.switches,
            "preempted_seconds": ev.preempted_ns * 1e-9,
            "unknown_frame_seconds": ev.unknown_ns * 1e-9,
            "unknown_frame_fraction": (ev.unknown_ns / ev.on_ns) if ev.on_ns else 0.0,
            "unknown_frame_modules": dict(ev.unknown_modules.most_common(10)),
        }
        if ev.unknown_ns:
            mods = ", ".join(Path(m).name for m, _ in ev.unknown_modules.most_common(3))
            self.notes.append(f"{100 * ev.unknown_ns / ev.on_ns:.1f}% of on-CPU samples have an [unknown] frame "
                              f"(no symbol; in {mods}): install debug symbols for those to name them")
        if ev.preempted_ns >= 10_000_000:
            self.notes.append(f"{ev.preempted_ns * 1e-9:.3f} s runnable but preempted (waiting for a CPU) is not "
                              "counted as off-CPU time")
        return s

    def explain_failure(self, log: str) -> str | None:
        return explain_perf_failure(log)


__all__ = ["Perf", "PerfAccess", "probe_access", "split_events", "explain_perf_failure", "perf_exe"]
