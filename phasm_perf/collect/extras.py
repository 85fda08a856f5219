"""What a profile run adds around the sampler, kept out of :mod:`.run` so that module stays about running:

- native collectors (perf, callgrind) that *run* the program (``perf record -- PROG``) instead of attaching to it;
  their frames get source files from the program's debug information (:mod:`.native`), their notes and summary
  (``perf.json``, ``callgrind.json``) go into the bundle, and callgrind's exact call counts become the bundle's
  counts without a second run;
- the NVML sampler (:mod:`.gpu`) for the whole run, whatever the collector;
- ``--torch-profiler``: the Python program runs under :mod:`._torchwrap`, which writes ``torch_ops.json``;
- the call counts of a Python program sampled by an attaching collector: the counting hook
  (:class:`~phasm_perf.collect.counts.CountingHook`) counts every function of the user's code in the same run.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from ..core.errors import PhasmError
from ..calltree.readers.base import Profile

if TYPE_CHECKING:  # the bundle's types (pydantic) are not imported before a program starts (start-up time)
    from ..core.bundle import CountsInfo
from .counts import CountingHook
from .gate import StartGate
from .gpu import GpuSampler
from .launch import script_of
from .program import Target

NATIVE_COLLECTORS = ("perf", "callgrind")


def pick_collector(target: Target, requested: str, default: Callable[[Target], str]) -> tuple[str, str | None]:
    """The collector's name and, when it was a fallback, one line saying why."""
    if requested != "auto":
        if requested in NATIVE_COLLECTORS and target.kind == "python":
            raise PhasmError(f"--collector {requested} profiles compiled programs; for a Python program use "
                             "austin (the default) or py-spy")
        return requested, None
    if target.kind == "native":
        from .perf import choose_native_collector

        return choose_native_collector()
    return default(target), None


class RunExtras:
    """One run's additions; :func:`phasm_perf.collect.run.profile` calls it at each step (see the module doc)."""

    def __init__(self, collector, target: Target, options, writer, notes: list[str]) -> None:
        self.collector = collector
        self.target = target
        self.options = options
        self.writer = writer
        self.notes = notes
        self.launches = collector.launches
        self._rc: int | None = None
        self._index = None
        self.gpu = GpuSampler(interval=options.gpu_interval)
        self.torch = options.torch_profiler
        #: counts in the sampled run itself (Python, attaching collectors): no second run
        self.hook = None
        if options.counts and target.kind == "python" and not collector.launches:
            roots = [str(target.program.parent)] if target.program else []
            self.hook = CountingHook(None, roots, sampled_run=True)
        self.in_run_counts: CountsInfo | None = None
        #: the start gate (an attaching sampler that can say when it takes its first sample): the program waits
        self.gate: StartGate | None = None
        self._gate_dir: tempfile.TemporaryDirectory | None = None
        #: the program waited at the gate: the samples cover all of it (only the interpreter's start-up is not)
        self.held = False
        if target.kind == "python" and not collector.launches and collector.piped_command(0):
            runs = script_of(target.argv)
            self._gate_dir = tempfile.TemporaryDirectory(prefix="phasm-gate-")
            self.gate = StartGate(Path(self._gate_dir.name), runs if runs and runs.startswith("-m ")
                                  else str(target.program) if target.program else None)
        if self.torch and target.kind != "python":
            raise PhasmError("--torch-profiler records PyTorch operators of a Python program; "
                             f"{target.argv[0]!r} is not one")

    # -- the command ------------------------------------------------------------------------------------------
    def _program_argv(self) -> list[str]:
        if not self.torch:
            return list(self.target.argv)
        from .torch_ops import wrap_argv

        return wrap_argv(self.target.argv)

    def argv(self, raw: Path) -> list[str]:
        prog = self._program_argv()
        return self.collector.command(prog, raw) if self.launches else prog

    def env(self) -> dict[str, str] | None:
        if not self.torch and self.hook is None and self.gate is None:
            return None
        env = dict(os.environ)
        if self.torch:
            env["PHASM_PERF_TORCH_OUT"] = str(self.writer.file("torch_ops.json"))
        if self.gate is not None:
            env = self.gate.env(env)
        return self.hook.env(env) if self.hook is not None else env

    def command_shown(self) -> list[str]:
        return self.collector.command(["PROG"], Path("OUT")) if self.launches else self.collector.command(0, Path("OUT"))

    def sampler(self, proc: subprocess.Popen, raw: Path):
        """``None``: start the usual attaching sampler. A launching collector is already running: a stand-in."""
        return proc if self.launches else None

    # -- around the run ---------------------------------------------------------------------------------------
    def started(self) -> None:
        self.gpu.start()

    def stopped(self, rc: int | None = None) -> None:
        self._close_gate()
        self.gpu.stop()
        self.gpu.write(self.writer.tmp)
        self._rc = rc
        if self.hook is not None:
            self.in_run_counts = self.hook.read(rc if rc is not None else -1, "the profiled run")
            self.hook = None

    def _close_gate(self) -> None:
        if self.gate is not None:
            self.gate.open()  # whatever happened, nothing waits on it any more
            self.held = self.held or self.gate.held.exists()
            self._gate_dir.cleanup()

    def discard(self) -> None:
        """The run did not happen (or phasm-perf failed): remove what the counting hook and the gate left."""
        self._close_gate()
        if self.hook is not None:
            self.hook.tmp.cleanup()
            self.hook = None

    def gpu_status(self, host_status: str) -> str:
        """The sampler's line (how busy each GPU was), or the host's status when the sampler never ran."""
        return self.gpu.status_line() if self.gpu.status != "unavailable (not started)" else host_status

    # -- afterwards -------------------------------------------------------------------------------------------
    def parse(self, raw: Path) -> Profile:
        if self._rc == 0:
            self.collector.calibrate(self._program_argv(), self.options.cwd)
        native = self.target.kind == "native" and self.collector.name in NATIVE_COLLECTORS
        if native:  # the program's symbols first: its overloads are kept apart while the stacks are read
            from .native import symbol_index, user_objects

            index = symbol_index(self.target.program)
            self.collector.overloads = index.overloads
        samples = self.collector.parse(raw)
        if native:
            inlined = self.collector.inlined
            if self.target.program is not None:
                index.add_inlined(inlined.get(str(self.target.program), {}))
            for lib in user_objects(self.collector.modules, self.target.program):
                lib_index = symbol_index(lib)
                lib_index.add_inlined(inlined.get(str(lib), {}))
                index.merge(lib_index)
            samples.on_cpu = index.annotate(samples.on_cpu)
            samples.off_cpu = index.annotate(samples.off_cpu)
            self._unwinding_artefacts(samples)
            if index.note:
                self.notes.append(index.note)
            self._index = index
        if self.target.kind == "python" and self.collector.name in ("austin", "py-spy"):
            self._trust(samples)
        self.notes.extend(self.collector.notes)
        if self.collector.extra:
            self.writer.write_json(f"{self.collector.name}.json", self.collector.extra)
        if self.torch:
            from .torch_ops import import_ops

            import_ops(self.writer.file("torch_ops.json"), samples, self.notes)
        return samples

    def _unwinding_artefacts(self, samples: Profile) -> None:
        """A ``main`` frame inside a stack (an unwinding artefact) dropped, and said (:func:`.native.drop_inner_main`)."""
        from .native import drop_inner_main

        total = samples.total_weight
        samples.on_cpu, on = drop_inner_main(samples.on_cpu)
        samples.off_cpu, off = drop_inner_main(samples.off_cpu)
        if total and on + off:
            self.notes.append(f"{100 * (on + off) / total:.1f}% of the samples had a 'main' frame inside the stack "
                              "(an unwinding artefact, not a call): that frame was dropped, the stack kept")

    def _trust(self, samples: Profile) -> None:
        """Torn samples repaired and the counting hook's own frames removed (:mod:`.torn`), said in the notes."""
        from .counts import HOOK_DIR
        from .torn import repair

        total = samples.total_weight
        counted = self.in_run_counts.functions if self.in_run_counts is not None else []
        def_lines = {(c.file, c.function.split(" (", 1)[0]): c.line for c in counted if c.file and c.line}
        on = repair(samples.on_cpu, str(HOOK_DIR), def_lines)
        off = repair(samples.off_cpu, str(HOOK_DIR), def_lines)
        samples.on_cpu, samples.off_cpu = on.stacks, off.stacks
        torn, hook = on.torn + off.torn, on.hook + off.hook
        renamed = on.renamed + off.renamed
        if total and renamed:
            worst = ", ".join(f"{right} in {where} read as {read}" for (read, where, right), _ in
                              (on.names + off.names).most_common(3))
            self.notes.append(f"{100 * renamed / total:.1f}% of the sampled time had a frame the sampler named "
                              f"wrongly (its name is not the function at that line of the source: {worst}): "
                              "renamed from the source")
        if total and torn:
            worst = (on.edges + off.edges).most_common(3)
            edges = ", ".join(f"{_short(caller)} -> {callee}" for (caller, callee), _ in worst)
            cut = on.cut + off.cut
            self.notes.append(f"{100 * torn / total:.1f}% of the sampled time was read while the stack changed "
                              f"(torn samples: a caller at a line that cannot call the frame below it, e.g. {edges}): "
                              "the caller was put back at its calling line"
                              + (f"; {100 * cut / total:.1f}% whose caller calls it nowhere lost the stale frames "
                                 "below the caller" if cut else ""))
        if total and hook / total >= 0.001:
            self.notes.append(f"{100 * hook / total:.1f}% of the sampled time was phasm-perf's own code in your "
                              "program (the counters in your functions, the first calls sized, the start gate "
                              "letting the program go): dropped, shares are of the rest")

    def own_counts(self, samples: Profile) -> CountsInfo | None:
        """Exact counts from the sampled run itself (the counting hook, or callgrind's own), keyed like the call
        tree; ``None`` when it has none (then a counting pass may give them)."""
        if self.in_run_counts is not None:
            return self.in_run_counts
        return self.collector.counts(self._index)


def _short(frame: str) -> str:
    """``boris_push (/x/particles.py:42)`` -> ``boris_push:42``."""
    from ..core.folded import split_frame

    name, _, line = split_frame(frame)
    return f"{name}:{line}" if line else name


__all__ = ["RunExtras", "pick_collector", "NATIVE_COLLECTORS"]
