"""List a function's real inputs and outputs (model-variable discovery): for a Python program, its arguments and
their elements, attributes of any object it reaches, module globals and their items, closure variables, arrays and
attributes it writes, globals it writes, its return value (the functions it calls count as its own); for a compiled
program, its parameters, what it reads and writes through pointers, references and `this`, the globals it
touches. With dtype, shape, bytes per call, observed range and constancy; then whether its calls depend on each
other.

    phasm-perf vars --function optics:Surface.refract -- examples/optics.py
    phasm-perf vars --function fmap::FieldMap::lookup -- examples/fieldmap/fieldmap 200

A Python function is MODULE:QUALNAME (the script's own name for functions defined in it); a compiled one (an ELF
binary built with -g) is a C/C++ name (`ns::Class::method`, or a unique tail of one)."""

from __future__ import annotations

import argparse
import os

from ..core.errors import PhasmError
from ..core.output import check_output, write_output
from ..report.formats import VARS_FORMATS
from ._common import add_program_arguments, split_command, stderr, whole_number

NAME = "vars"
HELP = "list a function's real inputs and outputs (globals, attributes, pointers, members, arrays written in place)"


def prepare_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--function", required=True, metavar="MODULE:QUALNAME|SYMBOL",
                        help="a Python function (optics:Surface.refract) or a C/C++ one (ns::Class::method)")
    parser.add_argument("--calls", type=whole_number(), default=None, metavar="N",
                        help="Python: observe all of the first N calls, then a thinning sample (default 64); "
                             "compiled: the calls traced (default 20)")
    parser.add_argument("--event-loop", metavar="QUALNAME",
                        help="Python: group the calls by the iterations of this function (default: the caller)")
    parser.add_argument("--format", choices=sorted(VARS_FORMATS), default="table")
    parser.add_argument("-o", dest="out_file", metavar="FILE", help="write the report to FILE instead of stdout")
    parser.add_argument("--input", action="append", default=[], metavar="NAME:TYPE[N]",
                        help="compiled: what a pointer points to when the types do not say (e.g. 'hits:double[64]')")
    parser.add_argument("--output", action="append", default=[], metavar="NAME:TYPE[N]",
                        help="compiled: likewise for memory the function writes (e.g. 'layers:double[48]')")
    parser.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                        help="give up on a program that runs longer than this (killed)")
    add_program_arguments(parser, "-- PROG")


def _target(cmd: list[str]):
    from ..collect.program import resolve_target

    words, as_command = split_command(cmd)
    if not words:
        raise PhasmError("no program given: phasm-perf vars --function FUNCTION -- PROG [ARGS...]")
    if as_command and words[0].endswith(".py") and os.path.isfile(words[0]):
        as_command = False  # `-- prog.py ARGS`: a script, run with this Python
    return resolve_target(words[0], words[1:], as_command=as_command)


def run(args: argparse.Namespace) -> int:
    # the library (pydantic) is imported here, not at the top: `--help` must not wait for it (start-up time)
    from .. import api
    from ..discover.python import ObservationFailed
    from ..report.vars import RENDERERS

    target = _target(args.cmd)
    check_output(args.out_file)
    render = RENDERERS[args.format]
    if target.kind == "native":
        if args.event_loop:
            raise PhasmError("--event-loop is for Python programs")
        stderr.print(f"[dim]phasm-perf: tracing {args.function} in {target.display} ({args.calls or 20} calls)[/]")
        report = api.vars_native(target, args.function, calls=args.calls or 20, inputs=args.input,
                                 outputs=args.output, timeout=args.timeout)
    else:
        if args.input or args.output:
            raise PhasmError("--input and --output say what a C/C++ pointer points to; a Python function's "
                             "variables are found as they are")
        try:
            report = api.vars(target, function=args.function, calls=args.calls or 64, event_loop=args.event_loop,
                              timeout=args.timeout)
        except ObservationFailed as exc:
            if exc.report is not None:
                write_output(render(exc.report), args.out_file)
            raise
    write_output(render(report), args.out_file)
    return 0
