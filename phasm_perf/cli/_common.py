"""Pieces shared by the subcommands: the program/target arguments, the run outcome, the status console."""

from __future__ import annotations

import argparse
import math
import os

from rich.console import Console

from ..collect.program import Target, resolve_target
from ..core.errors import PhasmError
from ..model.spec import hidden_text, parse_hidden

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
    g.add_argument("--interval", type=seconds(), default=0.001, metavar="SECONDS",
                   help="time between samples (default 0.001; below the sampler's floor, e.g. Austin's 50 µs, the "
                        "floor is used and said)")
    g.add_argument("--no-counts", dest="counts", action="store_false",
                   help="do not count calls (a Python program's are counted in the sampled run itself; a compiled "
                        "program's in a second run)")
    g.add_argument("--count-top", type=whole_number(), default=10, metavar="N",
                   help="count calls of the top N candidates (a compiled program's second run)")
    g.add_argument("--show-output", action="store_true",
                   help="let the program print to the terminal (default: kept in the bundle's stdout.txt)")
    g.add_argument("--force", action="store_true",
                   help="replace an existing bundle directory; read a damaged profile or bundle as far as it can be "
                        "read (the notes say what was skipped)")


def add_selection_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("candidates")
    g.add_argument("--event-loop", metavar="SYMBOL",
                   help="rank the functions under this frame (the event loop); default: found (the innermost frame "
                        "called once or a few times that holds most of the run), or what a bundle was made with; "
                        "'none': rank every function of the run; a name the profile lacks is refused with the "
                        "closest names it has")
    g.add_argument("--min-fraction", type=fraction(), default=None, metavar="F",
                   help="drop functions under this share of the run (default 0.02, or what a bundle was made with)")


def status(message: str) -> None:
    """A progress line on stderr (dim), as every command prints them."""
    stderr.print(f"[dim]phasm-perf: {message}[/]")


def console_for_stdout() -> Console:
    """A rich console for a table on stdout: the terminal's width; into a pipe or a file, as wide as the table needs
    (no name or file:line is ever cut or folded there: the output is read by programs and copied from)."""
    console = Console(highlight=False)
    return console if console.is_terminal else Console(highlight=False, width=100_000, color_system=None)


def profile_options(args: argparse.Namespace, **override) -> dict:
    """The keyword arguments of :func:`phasm_perf.api.profile` that the collection and selection options give."""
    opts = {"collector": args.collector, "interval": args.interval, "counts": args.counts,
            "count_top": args.count_top, "event_loop": args.event_loop, "min_fraction": args.min_fraction,
            "show_output": args.show_output, "force": args.force, "torch_profiler": args.torch_profiler}
    opts.update(override)
    return opts


def vocabulary(parse):
    """An argparse ``type=`` from a parser of :mod:`phasm_perf.model.spec` (its message becomes the usage error)."""
    def convert(text: str):
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = getattr(parse, "__name__", "value")
    return convert


def architecture(text: str) -> str:
    """``--surrogate``: ``mlp:HIDDEN`` in its one written form (``MLP:64X64`` -> ``mlp:64x64``)."""
    return hidden_text(parse_hidden(text))


def whole_number(minimum: int = 1):
    """An argparse ``type=`` for a count: a whole number >= ``minimum``."""
    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r}: give a whole number >= {minimum}")
        return value

    convert.__name__ = "count"
    return convert


def fraction(upper_open: bool = False):
    """An argparse ``type=`` for a share: a number in [0, 1] (or [0, 1) with ``upper_open``)."""
    top = "1)" if upper_open else "1]"

    def convert(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not (0 <= value < 1 if upper_open else 0 <= value <= 1):
            raise argparse.ArgumentTypeError(f"{text!r}: give a share of the whole, in [0, {top} (0.02 is 2%)")
        return value

    convert.__name__ = "fraction"
    return convert


def seconds():
    """An argparse ``type=`` for a duration: a number of seconds above zero."""
    def convert(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
        if not (value > 0 and math.isfinite(value)):
            raise argparse.ArgumentTypeError(f"{text!r}: give a number of seconds above 0 (e.g. 0.001)")
        return value

    convert.__name__ = "seconds"
    return convert


def split_command(cmd: list[str]) -> tuple[list[str], bool]:
    """``['--', 'python', '-m', 'x']`` -> (``['python', '-m', 'x']``, True)."""
    if cmd and cmd[0] == "--":
        return cmd[1:], True
    return cmd, False


def target_from(cmd: list[str], usage: str = "phasm-perf rank prog.py [ARGS...]  or  -- COMMAND [ARGS...]") -> Target:
    """The program of ``PROG ARGS`` or ``-- COMMAND ARGS``; ``-- prog.py ARGS`` (a script file) runs under this
    Python, as ``prog.py ARGS`` does."""
    words, as_command = split_command(cmd)
    if not words:
        raise PhasmError(f"no program given: {usage}")
    if as_command and words[0].endswith(".py") and os.path.isfile(words[0]):
        as_command = False
    return resolve_target(words[0], words[1:], as_command=as_command)
