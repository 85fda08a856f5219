"""Run the user's program once with phasm-perf's hook on ``PYTHONPATH`` and read what the agent reported.

The spec (a dict) names the agent module (``agent``) and whatever the agent needs; the hook writes the agent's
report (JSON) to a temporary file whose path is added to the spec as ``out``.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..errors import PhasmError, ProgramFailed

SITE_DIR = Path(__file__).parent / "_site"
SPEC_ENV = "PHASM_PERF_HOOK_SPEC"


@dataclass
class HookRun:
    returncode: int
    wall_seconds: float
    report: dict
    stdout: str
    stderr_tail: str = ""


def run_with_hook(argv: Sequence[str], spec: dict, *, what: str = "hooked", cwd: str | None = None,
                  timeout: float | None = None, allow_failure: bool = False) -> HookRun:
    """Run ``argv`` with the hook loading ``spec['agent']``; ``what`` names the run in messages.

    Raises :class:`ProgramFailed` when the program exits non-zero (unless ``allow_failure``: then the run and
    whatever the agent reported before the end are returned), :class:`PhasmError` when the hook could not load or
    the program ended without the agent's report (``os._exit``, a signal) and failure is not allowed.
    """
    with tempfile.TemporaryDirectory(prefix="phasm-hook-") as tmp:
        spec = dict(spec, out=str(Path(tmp) / "report.json"))
        spec_path = Path(tmp) / "spec.json"
        spec_path.write_text(json.dumps(spec), encoding="utf-8")
        env = dict(os.environ)
        env[SPEC_ENV] = str(spec_path)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SITE_DIR), env.get("PYTHONPATH", "")) if p)
        out_path, err_path = Path(tmp) / "stdout.txt", Path(tmp) / "stderr.txt"
        with out_path.open("wb") as out, err_path.open("wb") as err:
            t = time.perf_counter()
            try:
                proc = subprocess.run(list(argv), cwd=cwd, env=env, stdout=out, stderr=err,
                                      stdin=subprocess.DEVNULL, timeout=timeout)
            except subprocess.TimeoutExpired:
                raise PhasmError(f"the {what} run exceeded {timeout:.0f} s (raise --timeout)") from None
            except OSError as exc:
                raise PhasmError(f"could not start {argv[0]!r}: {exc.strerror}") from None
            wall = time.perf_counter() - t
        stdout = out_path.read_text(encoding="utf-8", errors="replace")
        lines = [ln for ln in err_path.read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip()]
        tail = lines[-1].strip()[:200] if lines else ""
        rpath = Path(spec["out"])
        report = json.loads(rpath.read_text(encoding="utf-8")) if rpath.exists() else {}
    if report.get("status") == "hook_failed":
        raise PhasmError(f"the {what} run could not load phasm-perf's hook in the program's Python: "
                         f"{'; '.join(report.get('errors', []))}")
    if proc.returncode != 0 and not allow_failure:
        last = f"; last line of its stderr: {tail}" if tail else ""
        raise ProgramFailed(f"the program exited with status {proc.returncode} in the {what} run{last}")
    if not report and not allow_failure:
        raise PhasmError(f"the {what} run ended without phasm-perf's report (did the program call "
                         "os._exit, or run under another Python?)")
    return HookRun(proc.returncode, wall, report, stdout, tail)
