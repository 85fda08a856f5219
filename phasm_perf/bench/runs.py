"""One run of the user's program with phasm-perf's hook (:mod:`phasm_perf.core.hook`) loading bench's agent, and what
it reported."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..collect.program import Target
from ..core.errors import PhasmError
from ..core.hook.run import run_with_hook

AGENT = "phasm_perf.bench._runtime"  # the module the hook loads in the program (its ``install(spec)``)


@dataclass
class Run:
    mode: str
    returncode: int
    wall_seconds: float
    report: dict
    stdout: str
    stderr_tail: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def program_seconds(self) -> float:
        """The program's own time: from the end of the hook's set-up to the last exit handler."""
        v = self.report.get("program_seconds")
        return float(v) if v is not None else self.wall_seconds


def timed_calls(report: dict) -> int:
    """Calls a run timed: all of them but a first one that ran the original before the swap."""
    return int(report.get("calls", 0)) - (1 if report.get("first_call_original") else 0)


def seconds_per_timed_call(report: dict) -> float:
    timed = timed_calls(report)
    return report.get("function_seconds", 0.0) / timed if timed > 0 else 0.0


def run_program(target: Target, spec: dict, *, cwd: str | None = None, timeout: float | None = None) -> Run:
    """Run ``target`` once in ``spec['mode']``; raise :class:`ProgramFailed` when it exits non-zero."""
    if target.kind != "python":
        raise PhasmError(f"bench needs a Python program (a .py script or `-- python ...`); "
                         f"{target.display!r} is {target.kind}")
    spec = dict(spec, agent=AGENT)
    run = run_with_hook(target.argv, spec, what=spec["mode"], cwd=cwd, timeout=timeout)
    return Run(spec["mode"], run.returncode, run.wall_seconds, run.report, run.stdout, run.stderr_tail)
