"""Run the program with the surrogate swapped in, beside baseline runs of the same session, and compare.

Runs are interleaved ABBA (baseline, surrogate, surrogate, baseline, ...) so that a slow drift of the machine's
load falls on both sides alike; each side's figure is the median of its runs. Both sides are timed the same way:
by the hook, from the end of its set-up (for the surrogate: importing torch and loading the saved program,
reported apart as the load time) to the program's last exit handler, so the interpreter's start-up and the
one-off load do not blur the per-call comparison. The process wall times are kept too.

The original function's time per call ``t_f`` comes from a third kind of run in the same rotation (``timed``: the
original, each call timed by the trampoline), so that ``T`` and ``t_f`` are measured under the same load.

When the program marks a batch point (:func:`phasm_perf.bench.batch_point`), the surrogate is measured twice:
batched as the program forms the batches, and one call at a time (``single``).
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field
from typing import Callable

from ..collect.program import Target
from .capture import FunctionRef
from .runs import Run, run_program, seconds_per_timed_call

_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w.])")


@dataclass
class Variant:
    name: str  # "baseline", "timed" (the original, its calls timed), "surrogate", "surrogate-single"
    runs: list[Run] = field(default_factory=list)

    @property
    def seconds(self) -> list[float]:
        return [r.program_seconds for r in self.runs]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def seconds_per_call(self) -> float:
        """The original function's time per call (median over the runs of a ``timed`` variant)."""
        return statistics.median(seconds_per_timed_call(r.report) for r in self.runs)

    @property
    def function_share(self) -> float:
        """The function's share of the program's time, each run's own ratio (function seconds over program
        seconds, both timed in that run), median over the runs: a slow moment slows both alike and cancels out."""
        shares = [min(1.0, r.report.get("function_seconds", 0.0) / r.report["program_seconds"])
                  for r in self.runs if r.report.get("program_seconds")]
        return statistics.median(shares) if shares else 0.0

    @property
    def wall_median(self) -> float:
        return statistics.median(r.wall_seconds for r in self.runs)

    @property
    def probe_samples(self) -> list[float]:
        """The speed probe's groups timed inside this variant's runs (none unless asked for)."""
        return [x for r in self.runs for x in r.report.get("speed_probe_seconds") or []]

    def histogram(self) -> dict[int, int]:
        """Batch size -> number of batches the surrogate answered (direct calls are batches of 1)."""
        rep = self.runs[0].report
        hist = {int(k): int(v) for k, v in (rep.get("batch_sizes") or {}).items()}
        direct = int(rep.get("calls", 0)) - int(rep.get("fallback_calls", 0)) - sum(b * c for b, c in hist.items())
        if direct > 0:
            hist[1] = hist.get(1, 0) + direct
        return dict(sorted(hist.items()))


@dataclass
class OutputChange:
    numbers: int
    max_abs: float | None
    max_rel: float | None
    pairs: list[tuple[float, float]]
    note: str


def numbers_in(text: str) -> list[float]:
    return [float(m) for m in _NUMBER.findall(text)]


def compare_output(baseline: str, other: str, baseline_again: str | None = None) -> OutputChange:
    """How much the program's printed numbers moved (pairwise, in order)."""
    a, b = numbers_in(baseline), numbers_in(other)
    notes = []
    if baseline_again is not None and numbers_in(baseline_again) != a:
        notes.append("the baseline's own output differs between runs")
    if len(a) != len(b):
        notes.append(f"the baseline printed {len(a)} numbers, the surrogate run {len(b)}; compared the first "
                     f"{min(len(a), len(b))}")
    pairs = list(zip(a, b))
    if not pairs:
        return OutputChange(0, None, None, [], "; ".join(notes) or "the program printed no numbers")
    diffs = [abs(y - x) for x, y in pairs]
    rels = [abs(y - x) / abs(x) if x != 0 else (0.0 if y == 0 else float("inf")) for x, y in pairs]
    return OutputChange(len(pairs), max(diffs), max(rels), pairs[:20], "; ".join(notes))


def run_session(target: Target, fn: FunctionRef, surrogate: str, *, repeats: int = 3, batched: bool = False,
                threads: int | None = None, device: str = "cpu", runtime: str = "eager", cwd: str | None = None,
                timeout: float | None = None, on_status: Callable[[str], None] | None = None,
                probe_groups: int = 0) -> list[Variant]:
    """Baseline and surrogate runs, interleaved; with ``batched`` also the surrogate one call at a time. With
    ``probe_groups``, each surrogate run times the speed probe before and after the program (see ._runtime)."""
    base = fn.spec()
    sur = dict(base, mode="surrogate", surrogate=str(surrogate), threads=threads, device=device, runtime=runtime,
               probe_groups=probe_groups)
    specs = {"baseline": dict(base, mode="baseline"), "timed": dict(base, mode="capture", budget=0),
             "surrogate": sur}
    if batched:
        specs["surrogate-single"] = dict(sur, single=True)
    variants = {name: Variant(name) for name in specs}
    names = list(specs)
    for i in range(repeats):
        order = names if i % 2 == 0 else names[::-1]
        for name in order:
            if on_status:
                on_status(f"run {i + 1}/{repeats}: {name}")
            run = run_program(target, specs[name], cwd=cwd, timeout=timeout)
            variants[name].runs.append(run)
    return list(variants.values())
