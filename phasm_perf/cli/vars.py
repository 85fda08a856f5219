"""Find a function's real inputs and outputs: run the program, observe the function and the functions it calls over
a sample of its calls, and list every variable it reads and writes (arguments and their elements, attributes of
any object it reaches, module globals and their items, closure variables, arrays written in place, the return
value) with dtype, shape, bytes per call, observed range and whether it stayed constant; then whether its calls
depend on each other, and how many one iteration of the program's loop offers.

    phasm-perf vars --function optics:Surface.refract -- examples/optics.py --exposures 10

MODULE is the script's own name for functions defined in it."""

from __future__ import annotations

import argparse

from ..core.errors import PhasmError
from ..core.output import check_output, write_output
from ._common import add_program_arguments, split_command

NAME = "vars"
HELP = "list a function's real inputs and outputs (globals, attributes, arrays written in place) and batchability"


def _positive(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        v = 0
    if v < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number >= 1")
    return v


def prepare_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--function", required=True, metavar="MODULE:QUALNAME",
                        help="the function, e.g. optics:Surface.refract (the script's name for its own functions)")
    parser.add_argument("--calls", type=_positive, default=64, metavar="N",
                        help="observe all of the first N calls, then a thinning sample (about N more per tenfold "
                             "of calls; default 64)")
    parser.add_argument("--event-loop", metavar="QUALNAME",
                        help="a function above the calls whose iterations group them (default: the caller)")
    parser.add_argument("--format", choices=["table", "json", "markdown"], default="table")
    parser.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    parser.add_argument("--timeout", type=float, default=None, metavar="SECONDS", help="limit for the program run")
    add_program_arguments(parser, "-- PROG")


def run(args: argparse.Namespace) -> int:
    from .. import api
    from ..discover.python import ObservationFailed
    from ..report.vars import RENDERERS

    words, as_command = split_command(args.cmd)
    if not words:
        raise PhasmError("no program given: phasm-perf vars --function MODULE:QUALNAME -- prog.py [ARGS...]")
    check_output(args.output)
    try:
        report = api.vars(words[0], words[1:], args.function, calls=args.calls, event_loop=args.event_loop,
                          timeout=args.timeout, as_command=as_command)
    except ObservationFailed as exc:
        if exc.report is not None:
            write_output(RENDERERS[args.format](exc.report), args.output)
        raise
    write_output(RENDERERS[args.format](report), args.output)
    return 0
