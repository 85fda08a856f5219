"""valgrind's callgrind for compiled programs: the portable fallback to perf (no kernel permission needed) and the
collector of exact call counts.

``valgrind --tool=callgrind -- PROG ARGS`` runs the program on valgrind's synthetic CPU and counts the
instructions (``Ir``) of every function and every call, exactly. The file is read by the issue-3 reader
(:func:`phasm_perf.calltree.readers.callgrind.read_callgrind`), which also unfolds the call graph into stacks.

What callgrind cannot give, and what the bundle says instead:

- *Time.* It counts instructions. The program is run once more, natively, and its CPU time is spread over the
  instructions (``seconds_per_unit = native CPU seconds / total Ir``): shares are exact instruction shares, seconds
  assume every instruction costs the same (a note says so).
- *Off-CPU time.* A sleeping thread executes no instruction: on-CPU only.
- *Inlined frames.* Inlined code counts toward the function it was inlined into (``fi=`` lines say from which file).

Frames are named as in the perf collector (argument lists dropped, ``operator()`` kept, source files only on the
user's own functions), so both collectors' bundles rank the same way and key call counts the same way.
"""

from __future__ import annotations

import resource
import subprocess
from collections import Counter
from pathlib import Path

from ..core.errors import PhasmError
from ..core.bundle import CallCount, CountsInfo
from ..calltree.readers.base import Profile
from .base import Collector, find_tool, first_message, tool_version

NOT_INSTALLED = "valgrind is not installed: `make setup` installs it (Debian package valgrind)"


class Callgrind(Collector):
    name = "callgrind"
    launches = True

    def __init__(self, interval: float = 0.001) -> None:
        super().__init__(interval)
        exe = find_tool("valgrind")
        if exe is None:
            raise PhasmError(NOT_INSTALLED)
        self.exe = exe
        self._calls: dict[str, int] = {}
        self._cpu_seconds: float | None = None
        self._valgrind_cpu: float | None = None

    @property
    def version(self) -> str | None:
        v = tool_version(self.exe, "--version")
        return v.split("-")[-1] if v else None

    def command(self, argv: list[str], out: Path) -> list[str]:
        return [self.exe, "--tool=callgrind", f"--callgrind-out-file={out}", f"--log-file={out}.log",
                "--", *argv]

    # -- run ----------------------------------------------------------------------------------------------------
    def calibrate(self, argv: list[str], cwd: str | None) -> None:
        """Run the program natively once and keep its CPU time (user + system), to turn instructions into time."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        try:
            p = subprocess.run(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               stdin=subprocess.DEVNULL)
        except OSError:
            return
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if p.returncode == 0:
            self._cpu_seconds = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

    # -- read ---------------------------------------------------------------------------------------------------
    def parse(self, raw: Path) -> Profile:
        from ..core.folded import split_frame
        from ..calltree.readers.callgrind import read_callgrind
        from .native import normalise_names, rename_frames

        log = Path(f"{raw}.log")
        log_text = log.read_text(errors="replace") if log.exists() else ""
        log.unlink(missing_ok=True)
        s = Profile(weight_unit="Ir", seconds_per_unit=1.0)
        if not raw.exists() or raw.stat().st_size == 0:
            if log_text.strip():
                self.notes.append(f"callgrind wrote no profile: {first_message(log_text)}")
            return s
        prof = read_callgrind(raw, force=True)  # an interrupted run's file may be cut short: keep what it holds
        self.notes.extend(prof.notes)
        j = prof.event_index
        # bare frame names, as the perf reader names them; the program's own get their source file afterwards
        stacks = prof.stacks()
        raw_names = {split_frame(f)[0] for st in stacks for f in st}
        names = normalise_names(raw_names | {f.name for f in prof.functions.values()})

        def bare(frame: str) -> str:
            n = split_frame(frame)[0]
            return names.get(n, n)

        s.on_cpu = Counter({k: int(round(w)) for k, w in rename_frames(stacks, bare).items()})
        self.modules = {f.object for f in prof.functions.values() if f.object}
        total = float(prof.totals[j])
        s.samples = len(s.on_cpu)  # callgrind takes no samples: the number of distinct call paths
        s.threads = 1
        for f in prof.functions.values():
            if f.calls and f.key not in prof.owner:
                n = names.get(f.name, f.name)
                self._calls[n] = self._calls.get(n, 0) + f.calls
        if self._cpu_seconds and total > 0:
            s.seconds_per_unit = self._cpu_seconds / total
            self.notes.append(f"callgrind counts instructions: seconds are the native run's CPU time "
                              f"({self._cpu_seconds:.3f} s) spread evenly over its {total:,.0f} {prof.event}")
        else:
            self.notes.append(f"callgrind counts instructions ({prof.event}); the native run for a time scale did "
                              "not complete, so weights are instructions, not seconds")
        self.notes.append("under callgrind, inlined code counts toward the function it was inlined into")
        # functions callgrind could not name (no symbol): "0x000000000001ab70", file "???"
        unknown = [f for f in prof.functions.values() if f.name.startswith("0x")]
        unknown_cost = sum(float(f.self_cost[j]) for f in unknown)
        if total > 0 and unknown_cost / total >= 0.001:
            objs = Counter(Path(f.object).name for f in unknown if f.object)
            self.notes.append(f"{100 * unknown_cost / total:.1f}% of {prof.event} is in code with no symbol ([unknown] "
                              f"frames; in {', '.join(o for o, _ in objs.most_common(3)) or 'unknown objects'})")
        inclusive = {}
        for f in prof.functions.values():
            n = names.get(f.name, f.name)
            inclusive[n] = max(inclusive.get(n, 0.0), float(f.incl_cost[j]))
        self.extra = {"event": prof.event, "total": total, "native_cpu_seconds": self._cpu_seconds,
                      "unknown_frame_fraction": unknown_cost / total if total > 0 else 0.0,
                      "seconds_per_instruction": s.seconds_per_unit if self._cpu_seconds else None,
                      "inclusive": dict(sorted(inclusive.items(), key=lambda kv: -kv[1])[:50]),
                      "calls": dict(sorted(self._calls.items(), key=lambda kv: -kv[1])[:200])}
        return s

    def counts(self, index) -> CountsInfo:
        """Exact calls of the program's own functions, from callgrind's run, keyed like the call tree."""
        from ..core.folded import split_frame
        from ..calltree.tree import function_key

        if not self._calls:
            return CountsInfo(status="unavailable (callgrind recorded no calls)")
        rows = []
        for name, calls in self._calls.items():
            frame = index.frame(name) if index is not None else name
            if frame == name:  # not the user's code: nothing to replace there
                continue
            _, file, line = split_frame(frame)
            rows.append(CallCount(function=function_key(frame), file=file, line=line, calls=calls))
        return CountsInfo(status="exact", method="callgrind (its own run: every call counted)",
                          functions=sorted(rows, key=lambda r: -r.calls))

    def explain_failure(self, log: str) -> str | None:
        return f"valgrind failed: {first_message(log)}" if log.strip() else None


__all__ = ["Callgrind", "NOT_INSTALLED"]
