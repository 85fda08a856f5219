"""Exact call counts for the top candidates: a second, cheap run of the program with a counting hook.

Sampling gives time, not calls, and a per-call prediction needs calls. The counting pass runs the program again
with :mod:`phasm_perf.collect._sitehook` on ``PYTHONPATH``: only the named functions are counted (see that
module for how it stays cheap). Counts are never estimated: when the pass cannot run or does not finish, the
bundle says ``unavailable (reason)``.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from .program import Target

if TYPE_CHECKING:  # the bundle's types (pydantic) are imported once the program has run (start-up time)
    from ..core.bundle import CountsInfo

HOOK_DIR = Path(__file__).parent / "_sitehook"
PACKAGE_DIR = Path(__file__).resolve().parents[1]
#: calls of each target whose arguments are sized (the surrogate's inputs); their results (outputs) from the second
#: on, where the calls are short (see the hook's ReturnWatch)
CAPTURE_CALLS = 4


def typical_size(sizes: list[int]) -> int | None:
    """The most common non-zero size among the sampled calls (the larger on a tie); None when none was numeric."""
    nonzero = [int(s) for s in sizes if s]
    if not nonzero:
        return None
    return max(set(nonzero), key=lambda s: (nonzero.count(s), s))


class CountingHook:
    """The counting hook of one run: a spec in a temporary folder, the environment that loads it, and what it
    wrote. ``functions`` (``(key, file, qualname)`` triples) counts only those; None counts every function of the
    user's own code (``user_roots``: the program's folder), in the run that is sampled."""

    def __init__(self, functions: Iterable[tuple[str, str, str]] | None = None,
                 user_roots: Iterable[str] = (), capture: int = CAPTURE_CALLS, sampled_run: bool = False) -> None:
        self.functions = list(functions) if functions is not None else None
        self.tmp = tempfile.TemporaryDirectory(prefix="phasm-count-")
        # sampled_run: the run is also sampled, so the hook counts only where that is nearly free (else: deferred)
        spec: dict = {"out_dir": self.tmp.name, "capture": capture, "user_roots": list(user_roots),
                      "exclude": [str(HOOK_DIR), str(PACKAGE_DIR)], "sampled": sampled_run}
        if self.functions is not None:
            spec["targets"] = [[f, q] for _, f, q in self.functions]
        self.spec = Path(self.tmp.name) / "spec.json"
        self.spec.write_text(json.dumps(spec), encoding="utf-8")

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ if base is None else base)
        env["PHASM_PERF_COUNT_SPEC"] = str(self.spec)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(HOOK_DIR), env.get("PYTHONPATH", "")) if p)
        return env

    def read(self, returncode: int, what: str = "the counting pass") -> CountsInfo | None:
        """The counts the run's processes wrote, keyed like the call tree (``qualname (file)``); ``None`` when the
        hook deferred counting to a second run (it would have slowed the sampled run: Python < 3.11)."""
        try:
            return _read_counts(Path(self.tmp.name), returncode, what, self.functions)
        finally:
            self.tmp.cleanup()


def _read_counts(folder: Path, returncode: int, what: str, functions) -> CountsInfo | None:
    from ..core.bundle import CallCount, CountsInfo  # after the run (start-up time)

    files = sorted(folder.glob("counts-*.json"))
    if not files:
        return CountsInfo(status=f"unavailable ({what} exited {returncode} without writing counts: the counting "
                                 "hook did not load; a launcher that replaces PYTHONPATH keeps it out)")
    totals: dict[tuple[str, str], list] = {}
    methods, errors, skipped = set(), [], 0
    deferred = 0
    for f in files:
        data = json.loads(f.read_text(encoding="utf-8"))
        if "deferred" in data:
            deferred += 1
            continue
        if "error" in data:
            errors.append(data["error"])
            continue
        methods.add(data["method"])
        skipped += int(data.get("not_counted", 0))
        for row in data["counts"]:
            slot = totals.setdefault((row["file"], row["function"]), [0, row.get("line"), [], [], [], []])
            slot[0] += int(row["calls"])
            for i, name in enumerate(("inputs", "outputs", "inputs_numpy", "outputs_numpy"), 2):
                slot[i] += row.get(name, [])
    if deferred and not totals and not errors:
        return None
    if errors and not totals:
        return CountsInfo(status=f"unavailable (the counting hook failed: {errors[0][:200]})")
    if returncode != 0:  # a run that did not exit 0 may have stopped half-way: its counts may be partial
        return CountsInfo(status=f"unavailable ({what} exited {returncode}; counts would be partial)")
    keys = {(f, q): key for key, f, q in functions} if functions is not None else None
    if keys is not None:
        for k in keys:
            totals.setdefault(k, [0, None, [], [], [], []])
    rows = []
    for (file, qual), (calls, line, ins, outs, np_ins, np_outs) in totals.items():
        key = keys.get((file, qual)) if keys is not None else f"{qual} ({file})"
        if key is None:
            continue
        # a result seen that holds no number (None: the function writes its results in place) is 0, not unknown
        outputs = typical_size(outs) if typical_size(outs) is not None or not outs else 0
        rows.append(CallCount(function=key, file=file, line=line, calls=calls, inputs=typical_size(ins),
                              outputs=outputs,
                              numpy_scalars=(typical_size(np_ins) or 0) + (typical_size(np_outs) or 0)))
    status = "exact"
    if skipped:
        status += f"; {skipped} function(s) of the script not counted (defined after its work began)"
    return CountsInfo(status=status, method="; ".join(sorted(methods)) or None, functions=rows)


def count_calls(
    target: Target,
    functions: Iterable[tuple[str, str, str]] | None,
    *,
    cwd: str | None = None,
    timeout: float | None = None,
    stderr_path: str | os.PathLike | None = None,
    user_roots: Iterable[str] = (),
) -> CountsInfo:
    """Run ``target`` once and count calls of ``functions`` (``(function key, file, qualname)`` triples; None:
    every function of the user's code) in a run of its own."""
    from ..core.bundle import CountsInfo  # start-up time (see the top of this module)

    functions = list(functions) if functions is not None else None
    if target.kind != "python":
        return CountsInfo(status="unavailable (call counting of non-Python programs is not supported yet)")
    if functions is not None and not functions:
        return CountsInfo(status="unavailable (no candidate to count)")
    hook = CountingHook(functions, user_roots)
    err = open(stderr_path, "wb") if stderr_path else subprocess.DEVNULL
    try:
        proc = subprocess.run(target.argv, cwd=cwd, env=hook.env(), stdout=subprocess.DEVNULL, stderr=err,
                              stdin=subprocess.DEVNULL, timeout=timeout)
    except subprocess.TimeoutExpired:
        hook.tmp.cleanup()
        return CountsInfo(status=f"unavailable (counting pass exceeded {timeout:.0f} s)")
    except OSError as exc:
        hook.tmp.cleanup()
        return CountsInfo(status=f"unavailable (counting pass could not start: {exc.strerror})")
    finally:
        if stderr_path:
            err.close()
    return hook.read(proc.returncode)
