"""The model alone, for what-if questions: the time per batch and per call of an MLP surrogate on one device,
which roof bounds it (compute, memory, link or latency) and how much of the peak it uses. No program needed."""

from __future__ import annotations

import argparse

from rich.markup import escape
from rich.table import Table

from ..model.spec import ACTIVATIONS, DEFAULT_RUNTIME, DTYPES, RUNTIMES, parse_batches, parse_dtype, parse_runtime
from ._common import architecture, stderr, vocabulary, whole_number
from ..core.units import fmt_flops, fmt_seconds
from ..core.output import check_output, write_output

NAME = "predict"
HELP = "predict a surrogate's time per batch and per call on a device (the model alone)"


def prepare_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--hardware", required=True, metavar="NAME|local|PATH",
                        help="a profile (phasm-perf hw list), local (this machine, measured), or a YAML file")
    parser.add_argument("--inputs", type=whole_number(), required=True, metavar="N", help="numbers into the surrogate")
    parser.add_argument("--outputs", type=whole_number(), required=True, metavar="M", help="numbers out of it")
    parser.add_argument("--surrogate", type=vocabulary(architecture), default="mlp:64x64", metavar="mlp:HIDDEN",
                        help="hidden widths, e.g. mlp:64x64 is N -> 64 -> 64 -> M (default)")
    parser.add_argument("--batch", type=vocabulary(parse_batches), metavar="LIST",
                        help="batch sizes, e.g. 1,8,64 or 1-4096 (default: 1-65536)")
    parser.add_argument("--dtype", type=vocabulary(parse_dtype), default="fp32",
                        help=f"{', '.join(DTYPES)} (default fp32)")
    parser.add_argument("--runtime", type=vocabulary(parse_runtime), default=DEFAULT_RUNTIME,
                        help="what runs the surrogate: " + "; ".join(f"{k}: {v}" for k, v in RUNTIMES.items())
                             + f" (default {DEFAULT_RUNTIME}: what bench swaps in)")
    parser.add_argument("--activation", default="relu", choices=ACTIVATIONS, help="hidden activation (default relu)")
    parser.add_argument("--format", choices=["table", "json"], default="table")
    parser.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")


def run(args: argparse.Namespace) -> int:
    from ..predict import predict_report  # here: `--help` must not wait for pydantic and yaml (start-up time)

    check_output(args.output)
    rep = predict_report(args.hardware, args.inputs, args.outputs, args.surrogate, args.batch, args.dtype,
                         args.runtime, args.activation,
                         on_status=lambda m: stderr.print(f"[dim]phasm-perf: {escape(m)}[/]"))
    if args.format == "json":
        write_output(rep.model_dump_json(indent=2) + "\n", args.output)
        return 0
    from rich.console import Console
    import io

    buf = io.StringIO()
    console = Console(file=buf, width=120, highlight=False, color_system=None if args.output else "auto",
                      force_terminal=False)
    console.print(f"{escape(rep.surrogate)} ({rep.inputs} -> {rep.outputs}, {rep.parameters:,} parameters, "
                  f"{rep.dtype}, {rep.activation}) in the {rep.runtime} runtime on {escape(rep.hardware)}: "
                  f"{escape(rep.hardware_description)}"
                  + (f"; [bold]{len(rep.flags)} figure(s) flagged as unreliable[/]" if rep.flags else ""))
    console.print(f"{rep.runtime}: {fmt_seconds(rep.dispatch_seconds)} per forward, {fmt_seconds(rep.launch_seconds)} "
                  f"per kernel; kernels from {'the measured tables' if rep.tables else 'the roofline'}, peak "
                  f"{fmt_flops(rep.peak_flops)}; in a program +{fmt_seconds(rep.in_program_seconds)} per forward")
    for line in rep.flags:
        console.print(f"flagged: {escape(line)}")
    for line in rep.notes:
        console.print(f"note: {escape(line)}")
    t = Table(title_justify="left")
    for col in ("batch", "per batch", "per call", "bound", "utilisation", "GFLOP/s"):
        t.add_column(col, justify="right" if col != "bound" else "left")
    for r in rep.per_batch:
        t.add_row(f"{r.batch:,}", fmt_seconds(r.seconds_per_batch), fmt_seconds(r.seconds_per_call), r.bound,
                  f"{100 * r.utilisation:.2g}%", f"{r.flops / r.seconds_per_batch / 1e9:,.3g}")
    console.print(t)
    write_output(buf.getvalue(), args.output)
    return 0
