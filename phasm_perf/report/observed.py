"""``rank --vars N``: the top compute candidates of a Python program observed with ``vars`` before they are predicted.

The counting pass sizes a function by the numbers in its arguments and its result; a legacy function also reads
globals and attributes and writes arrays in place, and its calls may feed each other. ``vars`` (one observed run of
the program per candidate) finds both: its sizes replace the counted ones, and the largest batch the program can
form caps the batch sweep. What it returns is what :func:`~phasm_perf.report.predictions.attach_predictions` reads:
``{key: (inputs, outputs, numpy scalars, independent calls, "vars")}``, and the notes to show.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..core.errors import PhasmError
from ..discover import DEPENDENT, largest_batch
from .schema import Candidate, RankReport

Observer = Callable[[object, str], object]  # (target, "MODULE:QUALNAME") -> VarsReport


def module_of(candidate: Candidate, script: Path | None) -> str | None:
    """``particles`` for a function of the script ``particles.py``; ``pkg.mod`` for ``pkg/mod.py`` beside it; None
    for a file elsewhere (a library, or no file)."""
    if script is None or not candidate.file:
        return None
    path = Path(candidate.file)
    if not path.is_absolute():
        path = script.parent / path
    try:
        rel = path.resolve().relative_to(script.parent.resolve())
    except ValueError:
        return None
    if rel.suffix != ".py":
        return None
    parts = list(rel.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts) if parts and all(p.isidentifier() for p in parts) else None


def observe(target, report: RankReport, top: int, observer: Observer) -> tuple[dict[str, tuple], list[str]]:
    """Observe the first ``top`` compute candidates of ``report`` (a ranking of ``target``'s run)."""
    script = Path(target.program) if getattr(target, "program", None) else None
    found: dict[str, tuple] = {}
    notes: list[str] = []
    for c in [c for c in report.candidates if c.kind != "waiting"][:top]:
        module = module_of(c, script)
        if module is None:
            notes.append(f"{c.function}: not observed by --vars (its file is not part of the program's folder)")
            continue
        try:
            rep = observer(target, f"{module}:{c.function}")
        except PhasmError as exc:
            notes.append(f"{c.function}: not observed by --vars: {exc}")
            continue
        found[c.key] = (rep.summary.input_size, rep.summary.output_size, 0, largest_batch(rep), "vars")
        notes.append(_note(c.function, rep))
    return found, notes


def _note(function: str, rep) -> str:
    s, b = rep.summary, rep.batching
    what = f"{function}: vars found {s.input_size} input(s) and {s.output_size} output(s)"
    if s.constant_inputs:
        what += f" ({s.constant_inputs} constant input(s) left out)"
    if b.dependent:
        return f"{what}; {DEPENDENT} ({'; '.join(b.chains) or 'an output feeds a later input'})"
    if b.independent_calls:
        return f"{what}; at most {b.independent_calls} independent calls per iteration of the loop: no larger batch"
    return f"{what}; whether its calls can be batched was not determined"
