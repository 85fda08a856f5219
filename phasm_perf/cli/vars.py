"""List a function's real inputs and outputs: its parameters, what it reads and writes through pointers,
references and `this`, the globals it touches, its return value (model-variable discovery).

For a compiled program (an ELF binary built with -g) the function is a C/C++ name (`ns::Class::method`, or a
unique tail of one); the program runs unmodified under Frida and the first --calls calls are traced."""

from __future__ import annotations

import argparse

from rich.table import Table

from .. import api
from ..core.errors import PhasmError
from ..core.output import check_output, write_output
from ._common import add_program_arguments, stderr, target_from, whole_number

NAME = "vars"
HELP = "list a function's real inputs and outputs (arguments, pointers, members, globals, return)"


def prepare_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--function", required=True, metavar="SYMBOL",
                        help="the function: a C/C++ name such as ns::Class::method (compiled programs)")
    parser.add_argument("--calls", type=whole_number(), default=20, metavar="N",
                        help="calls observed in detail (default 20; compiled: every memory access is traced)")
    parser.add_argument("--format", choices=["table", "json", "markdown"], default="table")
    parser.add_argument("-o", dest="out_file", metavar="FILE", help="write the result to FILE")
    parser.add_argument("--input", action="append", default=[], metavar="NAME:TYPE[N]",
                        help="say what a pointer points to when the types do not (e.g. 'hits:double[64]')")
    parser.add_argument("--output", action="append", default=[], metavar="NAME:TYPE[N]",
                        help="likewise for memory the function writes (e.g. 'layers:double[48]')")
    parser.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                        help="give up on a program that runs longer under instrumentation (killed)")
    add_program_arguments(parser)


def run(args: argparse.Namespace) -> int:
    target = target_from(args.cmd)
    if args.out_file:
        check_output(args.out_file)
    if target.kind != "native":
        raise PhasmError("this build of `vars` discovers compiled (ELF) programs only; Python comes with the "
                         "Python discovery")
    stderr.print(f"[dim]phasm-perf: tracing {args.function} in {target.display} ({args.calls} calls)[/]")
    report = api.vars_native(target, args.function, calls=args.calls, inputs=args.input, outputs=args.output,
                             timeout=args.timeout)
    text = render(report, args.format)
    if args.out_file:
        write_output(text, args.out_file)
        stderr.print(f"phasm-perf: wrote {args.out_file}")
    elif args.format == "table":
        _print_table(report)
    else:
        print(text, end="")
    return 0


def _fmt(v) -> str:
    return "" if v is None else f"{v:.6g}"


def _rows(report):
    for v in report.inputs + [o for o in report.outputs if o.direction == "out"]:
        yield [v.name, v.kind, v.direction, v.dtype, str(v.size), str(v.bytes), f"{_fmt(v.min)} .. {_fmt(v.max)}",
               "yes" if v.constant else "", v.type or "", v.note or ""]


HEAD = ["name", "kind", "dir", "dtype", "size", "bytes", "range", "constant", "type", "note"]


def _summary_lines(report) -> list[str]:
    s = report.summary
    lines = [f"{report.function}: {report.calls} calls, {report.observed_calls} traced",
             f"inputs {s.input_size} scalars ({s.input_bytes} B; {s.constant_inputs} constant left out), outputs "
             f"{s.output_size} scalars ({s.output_bytes} B); {s.outside_signature:.0%} of the inputs are not in "
             f"the signature"]
    lines += [f"unresolved: {u.name} ({u.type or u.kind}): {u.reason}" for u in report.unresolved]
    if report.batching.note:
        lines.append(f"batching: {report.batching.note}")
    lines += [f"note: {n}" for n in report.notes]
    return lines


def render(report, fmt: str) -> str:
    if fmt == "json":
        return report.model_dump_json(indent=2) + "\n"
    if fmt == "markdown":
        out = ["| " + " | ".join(HEAD) + " |", "|" + "---|" * len(HEAD)]
        out += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in _rows(report)]
        return "\n".join(out) + "\n\n" + "\n".join(f"- {line}" for line in _summary_lines(report)) + "\n"
    return "\n".join("\t".join(row) for row in _rows(report)) + "\n"


def _print_table(report) -> None:
    from rich.console import Console
    console = Console(highlight=False)
    table = Table(*HEAD, title=f"{report.function}", title_justify="left")
    for row in _rows(report):
        table.add_row(*row)
    console.print(table)
    for line in _summary_lines(report):
        console.print(line, markup=False)
