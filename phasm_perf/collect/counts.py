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
from typing import Iterable

from ..core.bundle import CallCount, CountsInfo
from .program import Target

HOOK_DIR = Path(__file__).parent / "_sitehook"
#: calls of each target whose arguments and result are sized (the surrogate's inputs and outputs)
CAPTURE_CALLS = 3


def typical_size(sizes: list[int]) -> int | None:
    """The most common non-zero size among the sampled calls (the larger on a tie); None when none was numeric."""
    nonzero = [int(s) for s in sizes if s]
    if not nonzero:
        return None
    return max(set(nonzero), key=lambda s: (nonzero.count(s), s))


def count_calls(
    target: Target,
    functions: Iterable[tuple[str, str, str]],
    *,
    cwd: str | None = None,
    timeout: float | None = None,
    stderr_path: str | os.PathLike | None = None,
) -> CountsInfo:
    """Run ``target`` once and count calls of ``functions`` (``(function key, file, qualname)`` triples)."""
    functions = list(functions)
    if target.kind != "python":
        return CountsInfo(status="unavailable (call counting of non-Python programs is not supported yet)")
    if not functions:
        return CountsInfo(status="unavailable (no candidate to count)")
    with tempfile.TemporaryDirectory(prefix="phasm-count-") as tmp:
        spec = Path(tmp) / "spec.json"
        spec.write_text(json.dumps({"targets": [[f, q] for _, f, q in functions], "out_dir": tmp,
                                    "capture": CAPTURE_CALLS}), encoding="utf-8")
        env = dict(os.environ)
        env["PHASM_PERF_COUNT_SPEC"] = str(spec)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(HOOK_DIR), env.get("PYTHONPATH", "")) if p)
        err = open(stderr_path, "wb") if stderr_path else subprocess.DEVNULL
        try:
            proc = subprocess.run(target.argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=err,
                                  stdin=subprocess.DEVNULL, timeout=timeout)
        except subprocess.TimeoutExpired:
            return CountsInfo(status=f"unavailable (counting pass exceeded {timeout:.0f} s)")
        except OSError as exc:
            return CountsInfo(status=f"unavailable (counting pass could not start: {exc.strerror})")
        finally:
            if stderr_path:
                err.close()
        files = sorted(Path(tmp).glob("counts-*.json"))
        if not files:
            return CountsInfo(
                status=f"unavailable (counting pass exited {proc.returncode} without writing counts)"
            )
        totals: dict[tuple[str, str], list] = {}
        method = None
        for f in files:
            data = json.loads(f.read_text(encoding="utf-8"))
            method = data["method"]
            for row in data["counts"]:
                slot = totals.setdefault((row["file"], row["function"]), [0, row.get("line"), [], [], [], []])
                slot[0] += int(row["calls"])
                slot[2] += row.get("inputs", [])
                slot[3] += row.get("outputs", [])
                slot[4] += row.get("inputs_numpy", [])
                slot[5] += row.get("outputs_numpy", [])
    by_target = {(f, q): key for key, f, q in functions}
    rows = []
    for (file, qual), key in by_target.items():
        calls, line, ins, outs, np_ins, np_outs = totals.get((file, qual), [0, None, [], [], [], []])
        rows.append(CallCount(function=key, file=file, line=line, calls=calls, inputs=typical_size(ins),
                              outputs=typical_size(outs),
                              numpy_scalars=(typical_size(np_ins) or 0) + (typical_size(np_outs) or 0)))
    if proc.returncode != 0:  # the sampling run exited 0: this one misbehaved, and its counts may be partial
        return CountsInfo(status=f"unavailable (the counting pass exited {proc.returncode}; counts would be partial)")
    status = "exact"
    return CountsInfo(status=status, method=method, functions=rows)
