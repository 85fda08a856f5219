"""One run of the user's program with the bench hook (``_sitehook``) on ``PYTHONPATH``, and what it reported."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..collect.program import Target
from ..core.errors import PhasmError, ProgramFailed

HOOK_DIR = Path(__file__).parent / "_sitehook"


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
    with tempfile.TemporaryDirectory(prefix="phasm-bench-") as tmp:
        spec = dict(spec, out=str(Path(tmp) / "report.json"))
        spec_path = Path(tmp) / "spec.json"
        spec_path.write_text(json.dumps(spec), encoding="utf-8")
        env = dict(os.environ)
        env["PHASM_PERF_BENCH_SPEC"] = str(spec_path)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(HOOK_DIR), env.get("PYTHONPATH", "")) if p)
        out_path, err_path = Path(tmp) / "stdout.txt", Path(tmp) / "stderr.txt"
        with out_path.open("wb") as out, err_path.open("wb") as err:
            t = time.perf_counter()
            try:
                proc = subprocess.run(target.argv, cwd=cwd, env=env, stdout=out, stderr=err,
                                      stdin=subprocess.DEVNULL, timeout=timeout)
            except subprocess.TimeoutExpired:
                raise PhasmError(f"the {spec['mode']} run exceeded {timeout:.0f} s (raise --timeout)") from None
            except OSError as exc:
                raise PhasmError(f"could not start {target.argv[0]!r}: {exc.strerror}") from None
            wall = time.perf_counter() - t
        stdout = out_path.read_text(encoding="utf-8", errors="replace")
        lines = [ln for ln in err_path.read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip()]
        tail = lines[-1].strip()[:200] if lines else ""
        rpath = Path(spec["out"])
        report = json.loads(rpath.read_text(encoding="utf-8")) if rpath.exists() else {}
    if report.get("status") == "hook_failed":
        raise PhasmError(f"the {spec['mode']} run could not load phasm-perf's hook in the program's Python: "
                         f"{'; '.join(report.get('errors', []))}")
    if proc.returncode != 0:
        last = f"; last line of its stderr: {tail}" if tail else ""
        raise ProgramFailed(f"the program exited with status {proc.returncode} in the {spec['mode']} run{last}")
    if not report:
        raise PhasmError(f"the {spec['mode']} run ended without phasm-perf's report (did the program call "
                         "os._exit, or run under another Python?)")
    return Run(spec["mode"], proc.returncode, wall, report, stdout, tail)
