"""The prediction options of ``rank`` (``--hardware``, ``--surrogate``, ...) and the glue to the library."""

from __future__ import annotations

import argparse

from ..collect.bundle import Bundle
from ..core.errors import PhasmError
from ..model.surrogate import DTYPES
from ..report.schema import RankReport
from ..core.output import check_output, write_output
from ._common import stderr


def add_prediction_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("prediction (DESIGN section 3)")
    g.add_argument("--hardware", metavar="NAME|local|PATH",
                   help="predict each candidate's surrogate on this device (phasm-perf hw list; local: this "
                        "machine, measured the first time)")
    g.add_argument("--surrogate", default="mlp:64x64", metavar="mlp:HIDDEN",
                   help="the surrogate's hidden widths (default mlp:64x64)")
    g.add_argument("--inputs", type=int, metavar="N",
                   help="numbers into the surrogate (default: counted in the first real calls)")
    g.add_argument("--outputs", type=int, metavar="M",
                   help="numbers out of it (default: counted in the first real calls)")
    g.add_argument("--dtype", default="fp32", choices=list(DTYPES), help="default fp32")
    g.add_argument("--batch", metavar="LIST",
                   help="batch sizes, e.g. 64 or 1,8,64 (default: powers of two up to the call count)")
    g.add_argument("--html", metavar="REPORT", help="also write a self-contained HTML report with a roofline plot")


def check_prediction_arguments(args: argparse.Namespace) -> None:
    """Fail before profiling on options that cannot work (unknown hardware, bad surrogate or batch list)."""
    from ..hardware import load, local_path
    from ..predict import parse_batches, parse_hidden_or_fail

    if not args.hardware:
        if args.inputs or args.outputs or args.batch:
            raise PhasmError("--inputs, --outputs and --batch shape a prediction: add --hardware NAME")
        return
    if (args.inputs is None) != (args.outputs is None):
        raise PhasmError("give both --inputs and --outputs, or neither (then they are counted in real calls)")
    if args.inputs is not None and (args.inputs < 1 or args.outputs < 1):
        raise PhasmError("--inputs and --outputs must be >= 1")
    parse_hidden_or_fail(args.surrogate)
    parse_batches(args.batch)
    if args.hardware != "local" or local_path().exists():
        load(args.hardware).device(args.dtype)


def apply_predictions(args: argparse.Namespace, report: RankReport, bundle: Bundle):
    """``(report with predictions, profile or None)``; without ``--hardware`` the report is unchanged."""
    from ..predict import PredictOptions, attach_predictions, captured_io, parse_batches, profile_of

    check_prediction_arguments(args)
    if not args.hardware:
        return report, None
    batches = parse_batches(args.batch)
    profile = profile_of(args.hardware, on_status=lambda m: stderr.print(f"[dim]phasm-perf: {m}[/]"))
    opts = PredictOptions(hardware=args.hardware, surrogate=args.surrogate, dtype=args.dtype,
                          batches=tuple(batches) if batches else None, inputs=args.inputs, outputs=args.outputs)
    return attach_predictions(report, captured_io(bundle), opts, profile), profile


def write_html(args: argparse.Namespace, report: RankReport, profile) -> None:
    if not args.html:
        return
    from ..predict.html import render_html
    
    write_output(render_html(report, profile), args.html)
    stderr.print(f"[dim]phasm-perf: wrote {args.html}[/]")
