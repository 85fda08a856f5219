"""Pieces shared by the subcommands: the program/target arguments, the run outcome, the status console."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from ..collect.bundle import Bundle
from ..collect.program import Target, resolve_target
from ..core.errors import PhasmError, ProgramFailed, ProgramInterrupted, TooFewSamples

stderr = Console(stderr=True, highlight=False, soft_wrap=True)


def add_program_arguments(parser: argparse.ArgumentParser, what: str = "PROG") -> None:
    parser.add_argument("cmd", nargs=argparse.REMAINDER, metavar=f"{what} [ARGS...]",
                        help="a .py script, an executable, or any command after --")


def add_collect_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("collection")
    g.add_argument("--collector", default="auto", choices=["auto", "austin", "py-spy", "perf", "callgrind", "scalene"],
                   help="sampler (default: austin for Python, which splits on-CPU and off-CPU in one run; perf for "
                        "a compiled program, callgrind where perf is not permitted)")
    g.add_argument("--torch-profiler", action="store_true",
                   help="also record the PyTorch operators (FLOPs, bytes, time) of a Python program")
    g.add_argument("--interval", type=float, default=0.001, metavar="SECONDS",
                   help="time between samples (default 0.001)")
    g.add_argument("--no-counts", dest="counts", action="store_false",
                   help="skip the exact call-counting pass (a second run of the program)")
    g.add_argument("--count-top", type=int, default=10, metavar="N", help="count calls of the top N candidates")
    g.add_argument("--show-output", action="store_true",
                   help="let the program print to the terminal (default: kept in the bundle's stdout.txt)")
    g.add_argument("--force", action="store_true", help="replace an existing bundle directory")


def add_selection_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("candidates")
    g.add_argument("--event-loop", metavar="SYMBOL", help="only consider time under this frame (the event loop)")
    g.add_argument("--min-fraction", type=float, default=0.02, metavar="F",
                   help="drop functions under this share of the run (default 0.02)")


def split_command(cmd: list[str]) -> tuple[list[str], bool]:
    """``['--', 'python', '-m', 'x']`` -> (``['python', '-m', 'x']``, True)."""
    if cmd and cmd[0] == "--":
        return cmd[1:], True
    return cmd, False


def target_from(cmd: list[str]) -> Target:
    words, as_command = split_command(cmd)
    if not words:
        raise PhasmError("no program given: phasm-perf rank prog.py [ARGS...]  or  -- COMMAND [ARGS...]")
    return resolve_target(words[0], words[1:], as_command=as_command)


def check_outcome(bundle: Bundle, interval: float) -> None:
    """Raise the one-line error a bundle's status calls for (after the caller has shown what it can)."""
    m = bundle.meta
    where = f"its profile is kept in {bundle.path} (status {m.status})"
    if m.status == "interrupted":
        what = f"signal {m.signal}" if m.signal else "interrupted"
        raise ProgramInterrupted(f"profiling was interrupted ({what}); {where}")
    if m.status == "failed":
        tail = _stderr_tail(bundle.path)
        raise ProgramFailed(f"the program exited with status {m.exit_status}; {where}{tail}")
    if not _saw_user_code(bundle):
        raise TooFewSamples(
            f"the program ran for {m.wall_seconds:.3f} s and no sample landed in its own code (only start-up): "
            f"too short to profile at {interval * 1e3:g} ms intervals; give it more work (a larger input, more "
            f"steps); its profile is kept in {bundle.path}")


def _saw_user_code(bundle: Bundle) -> bool:
    if not bundle.on_cpu and not bundle.off_cpu:
        return False
    if bundle.meta.collector.name not in ("austin", "py-spy"):
        return True
    from ..report.ranking import selection_of

    table = selection_of(bundle).table
    return bool((table["excluded"].isin(["", "tiny", "tower"]) & (table["incl"] > 0)).any())


def _stderr_tail(path: Path) -> str:
    f = Path(path) / "stderr.txt"
    try:
        lines = [ln for ln in f.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    return f"; last line of its stderr: {lines[-1].strip()[:200]}" if lines else ""
