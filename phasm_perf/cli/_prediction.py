"""The prediction options of ``rank`` (``--hardware``, ``--surrogate``, ...) and the glue to the library."""

from __future__ import annotations

import argparse

from ..core.errors import PhasmError
from ..model.spec import ACTIVATIONS, DEFAULT_RUNTIME, DTYPES, RUNTIMES, parse_batches, parse_dtype, parse_runtime
from ._common import architecture, stderr, vocabulary, whole_number


def add_prediction_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("prediction (ARCHITECTURE.md: the model)")
    g.add_argument("--hardware", metavar="NAME|local|PATH",
                   help="predict each candidate's surrogate on this device (phasm-perf hw list; local: this "
                        "machine, measured the first time)")
    g.add_argument("--surrogate", type=vocabulary(architecture), default="mlp:64x64", metavar="mlp:HIDDEN",
                   help="the surrogate's hidden widths (default mlp:64x64)")
    g.add_argument("--inputs", type=whole_number(), metavar="N",
                   help="numbers into the surrogate (default: counted in the first real calls)")
    g.add_argument("--outputs", type=whole_number(), metavar="M",
                   help="numbers out of it (default: counted in the first real calls)")
    g.add_argument("--dtype", type=vocabulary(parse_dtype), default="fp32", help=f"{', '.join(DTYPES)} (default fp32)")
    g.add_argument("--batch", type=vocabulary(parse_batches), metavar="LIST",
                   help="batch sizes, e.g. 64 or 1,8,64 (default: powers of two up to the call count)")
    g.add_argument("--runtime", type=vocabulary(parse_runtime), default=DEFAULT_RUNTIME,
                   help=f"what runs the surrogate: {', '.join(RUNTIMES)} (default {DEFAULT_RUNTIME}: what bench swaps "
                        "in; phasm-perf predict --help says what each is)")
    g.add_argument("--activation", default="relu", choices=ACTIVATIONS, help="hidden activation (default relu)")
    g.add_argument("--independent", type=whole_number(), metavar="M",
                   help="calls the program can put in one batch (per iteration of its loop; phasm-perf vars finds "
                        "it): no batch is larger (default: every call)")
    g.add_argument("--vars", type=whole_number(minimum=0), default=0, metavar="N", dest="observe",
                   help="observe the top N compute candidates with vars first (Python programs; one run of the "
                        "program each): their real inputs and outputs (globals, attributes, arrays written in "
                        "place) and the batch the program can form shape their predictions (default 0: sizes "
                        "counted in the first calls)")
    g.add_argument("--html", metavar="REPORT", help="also write a self-contained HTML report with a roofline plot")


def check_prediction_arguments(args: argparse.Namespace) -> None:
    """Fail before profiling on options that cannot work (unknown hardware, bad surrogate or batch list)."""
    from ..hardware import load, local_path

    if not args.hardware:
        if args.inputs or args.outputs or args.batch or getattr(args, "observe", 0):
            raise PhasmError("--inputs, --outputs, --batch and --vars shape a prediction: add --hardware NAME")
        return
    if (args.inputs is None) != (args.outputs is None):
        raise PhasmError("give both --inputs and --outputs, or neither (then they are counted in real calls)")
    if args.hardware != "local" or local_path().exists():
        load(args.hardware).device(args.dtype, args.runtime)


def prediction_options(args: argparse.Namespace) -> dict:
    """The keyword arguments of :func:`phasm_perf.api.rank` that ``--hardware`` and its companions give."""
    return {"hardware": args.hardware, "surrogate": args.surrogate, "dtype": args.dtype,
            "batches": args.batch, "inputs": args.inputs, "outputs": args.outputs, "runtime": args.runtime,
            "activation": args.activation, "independent": args.independent,
            "on_status": lambda m: stderr.print(f"[dim]phasm-perf: {m}[/]")}
