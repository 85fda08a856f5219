"""Runs of a compiled program with its function replaced by a shim (``native/agents/swap.js``): capture, timed
pass-through, swap, or nothing at all; every run timed the same way (from the program's start to its exit)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...core.errors import PhasmError
from ...discover.native import Located
from ...native.frida_run import AgentRun, run_agent

NOTHING, PASS, CAPTURE, SWAP, TIMED = -1, 0, 1, 2, 3


@dataclass
class ShimRun:
    run: AgentRun
    calls: int
    seconds_in_original: float
    rows: np.ndarray | None = None
    fallback: int = 0            # calls the original answered: the runtime could not be loaded
    clock_cost: float = 0.0      # seconds of one clock read in the shim (timed runs: 2 per call)

    @property
    def wall(self) -> float:
        return self.run.seconds

    @property
    def seconds(self) -> float:
        """CPU seconds of the program's main thread (start to exit); wall time where it could not be read."""
        for m in self.run.of_type("exit"):
            if m.get("cpu") is not None:
                return float(m["cpu"])
        return self.run.seconds

    @property
    def stdout(self) -> str:
        return self.run.stdout


def run_shim(argv: list[str], loc: Located, shim: Path | None, mode: int, *, budget: int = 0,
             runtime: Path | None = None, weights: Path | None = None, timeout: float | None = None,
             what: str = "run", direct: bool = False) -> ShimRun:
    """``direct``: enter the replacement without the register-saving entry (only when arguments are on the
    stack, which that entry does not forward)."""
    with tempfile.TemporaryDirectory(prefix="phasm-native-") as tmp:
        dump = Path(tmp) / "dump.bin"
        params = {"module": str(loc.info.path.resolve()), "offset": loc.info.runtime_offset(loc.fn.low_pc or 0),
                  "shim": str(shim) if shim else "", "mode": mode, "budget": budget,
                  "runtime": str(runtime) if runtime else "", "weights": str(weights) if weights else "",
                  "dump": str(dump), "entry": "phasm_replacement" if direct else "phasm_entry"}
        run = run_agent(argv, "swap.js", params, timeout=timeout)
        if run.errors:
            raise PhasmError(f"the {what} could not start: {run.errors[0].splitlines()[0]}", 1)
        if run.crashed:
            raise PhasmError(f"the program crashed during the {what} ({run.crashed}); "
                             f"its output so far: {run.stdout.strip()[-200:] or '(none)'}", 1)
        if run.exit_status not in (0, None):
            raise PhasmError(f"the program exited with status {run.exit_status} during the {what}: "
                             f"{run.stderr.strip()[-200:] or '(no message)'}", 1)
        if mode == NOTHING or not dump.is_file():
            return ShimRun(run, 0, 0.0)
        data = np.fromfile(dump, dtype=np.float64)
    calls, kept, t_orig, width, fallback = (int(data[0]), int(data[1]), float(data[2]), int(data[3]), int(data[4]))
    clock_cost = float(data[5])
    rows = data[6:6 + kept * width].reshape(kept, width) if mode == CAPTURE else None
    if mode == SWAP and fallback:
        raise PhasmError(f"the surrogate runtime could not be loaded in the program ({runtime}, {weights}): "
                         f"{fallback} calls answered by the original", 1)
    return ShimRun(run, calls, t_orig, rows, fallback, clock_cost)
