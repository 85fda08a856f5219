"""Check the prediction on real hardware: capture a function's inputs and outputs while the program runs, train an
MLP surrogate, time it over batch sizes, swap it into the program, and set every measured number beside the
model's prediction (time per batch, end-to-end speedup) with the surrogate's error.

    phasm-perf bench --function particles:boris_push -- examples/particles.py --events 40

MODULE is the script's own name for functions defined in it. The surrogate, bench.json and bench.html are kept
in --out (default phasm-out/bench-FUNCTION-TIME)."""

from __future__ import annotations

import argparse
import datetime as _dt
from pathlib import Path

from ..core.errors import PhasmError
from ..core.output import write_output
from ..model.spec import ACTIVATIONS, DEFAULT_RUNTIME, parse_batches, parse_dtype, parse_runtime
from ._common import add_program_arguments, architecture, seconds, stderr, target_from, vocabulary, whole_number
from ._tracking import add_tracking_arguments, tracking_of

NAME = "bench"
#: the runtimes bench can swap in (of the vocabulary in phasm_perf.model.spec.RUNTIMES)
BENCH_RUNTIMES = ("eager", "export")
HELP = "train and time a real surrogate, swap it in, and compare with the prediction"

def prepare_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--function", required=True, metavar="MODULE:QUALNAME|SYMBOL",
                        help="the function to replace, e.g. particles:boris_push (the script's name for its own), "
                             "or a C/C++ function of a compiled program, e.g. fmap::FieldMap::lookup")
    s = parser.add_argument_group("surrogate")
    s.add_argument("--surrogate", type=vocabulary(architecture), default="mlp:64x64", metavar="mlp:HIDDEN",
                   help="hidden widths (default mlp:64x64)")
    s.add_argument("--activation", default="relu", choices=ACTIVATIONS,
                   help="hidden activation (default relu: the kernel `hw measure` calibrates launch costs with)")
    s.add_argument("--dtype", type=vocabulary(parse_dtype), default="fp32", help="fp32 (default), bf16, fp16, fp64")
    s.add_argument("--samples", type=whole_number(), default=4096, metavar="N", help="sample budget (default 4096)")
    s.add_argument("--min-samples", type=whole_number(), default=64, metavar="N",
                   help="fewer captured calls than this is an error (default 64)")
    s.add_argument("--epochs", type=whole_number(), default=400, metavar="N", help="at most N epochs (default 400)")
    s.add_argument("--patience", type=whole_number(), default=40, metavar="N",
                   help="stop after N epochs without a better validation loss (default 40)")
    s.add_argument("--seed", type=int, default=0, help="sampling, split and training seed (default 0)")
    t = parser.add_argument_group("timing and prediction")
    t.add_argument("--batch", type=vocabulary(parse_batches), default=None, metavar="LIST",
                   help="batch sizes to time (default 1,2,4,...,1024)")
    t.add_argument("--runtime", type=vocabulary(parse_runtime), default=DEFAULT_RUNTIME,
                   help="how the program runs the surrogate, in the vocabulary of predict --runtime: eager (default; "
                        "the nn.Sequential under no_grad) or export (the saved torch.export program's module, as "
                        "torch.export.load gives it); the prediction is for the same runtime")
    t.add_argument("--device", default="auto", help="auto (CUDA when there is one), cpu, cuda[:N]")
    t.add_argument("--threads", type=whole_number(), default=None, metavar="N",
                   help="torch threads for timing and in the program (default: as many as the CPU hardware profile "
                        "was measured with, so that measured and predicted are like for like)")
    t.add_argument("--hardware", default="local", metavar="NAME|local",
                   help="hardware profile for the prediction (default local: this machine, measured)")
    t.add_argument("--repeats", type=whole_number(), default=3, metavar="N",
                   help="baseline and surrogate runs of the program each, interleaved (default 3)")
    t.add_argument("--timing-repeats", type=whole_number(), default=25, metavar="N", help="repeats per batch size")
    t.add_argument("--no-swap", dest="swap", action="store_false", help="skip the end-to-end runs")
    t.add_argument("--timeout", type=seconds(), default=None, metavar="SECONDS", help="limit for each program run")
    w = parser.add_argument_group("sweep (on Dask)")
    w.add_argument("--sweep", action="store_true",
                   help="also time surrogate shapes x batch sizes x dtypes as Dask trials")
    w.add_argument("--sweep-surrogates", type=vocabulary(_architectures), default="mlp:32x32,mlp:64x64,mlp:128x128",
                   metavar="LIST")
    w.add_argument("--sweep-dtypes", type=vocabulary(_dtypes), default="fp32,bf16", metavar="LIST")
    w.add_argument("--sweep-train", action="store_true", help="train every shape too (its validation error)")
    w.add_argument("--scheduler", metavar="ADDRESS", help="an existing Dask scheduler (default: a local cluster)")
    w.add_argument("--workers", type=whole_number(), default=2, metavar="N", help="local cluster workers (default 2)")
    n = parser.add_argument_group("compiled programs (an ELF binary built with -g; --function ns::Class::method)")
    n.add_argument("--vars-calls", type=whole_number(), default=10, metavar="N",
                   help="calls traced to discover the inputs and outputs (default 10)")
    n.add_argument("--vars-input", action="append", default=[], metavar="NAME:TYPE[N]",
                   help="as `vars --input`: what a pointer points to when the types do not say")
    n.add_argument("--vars-output", action="append", default=[], metavar="NAME:TYPE[N]",
                   help="as `vars --output`")
    o = parser.add_argument_group("output")
    o.add_argument("--out", metavar="DIR", help="where to keep surrogate.pt2, bench.json, bench.html")
    o.add_argument("--format", choices=["table", "json"], default="table", help="what to print (default table)")
    o.add_argument("-o", "--output", metavar="FILE", help="also write the JSON report here")
    o.add_argument("--html", metavar="FILE", help="also write the HTML report here")
    o.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    add_tracking_arguments(parser)
    add_program_arguments(parser, "-- PROG")


def _architectures(text: str) -> list[str]:
    return [architecture(x) for x in text.split(",") if x.strip()]


def _dtypes(text: str) -> list[str]:
    return [parse_dtype(x) for x in text.split(",") if x.strip()]


def run(args: argparse.Namespace) -> int:
    target = target_from(args.cmd, "phasm-perf bench --function MODULE:QUALNAME -- prog.py [ARGS...]")
    if args.runtime not in BENCH_RUNTIMES:
        raise PhasmError(f"--runtime {args.runtime}: bench runs a surrogate as {' or '.join(BENCH_RUNTIMES)}; "
                         f"predict --runtime {args.runtime} predicts it without running it")
    from .. import api

    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    fname = args.function.replace(":", "-").replace("<", "").replace(">", "")
    out_dir = Path(args.out) if args.out else Path("phasm-out") / f"bench-{fname}-{stamp}"

    def status(msg: str) -> None:
        if not args.quiet:
            stderr.print(f"[dim]phasm-perf: {msg}[/]")

    session = api.open_bench(target, args.function, _options(args), out_dir, also=(args.output, args.html),
                             sweep=_sweep(args), native={"vars_calls": args.vars_calls, "inputs": args.vars_input,
                                                         "outputs": args.vars_output},
                             tracking=tracking_of(args), store=Path(args.out or "phasm-out"), on_status=status)
    progress, on_epoch = _progress(args.quiet)
    with progress:
        report = session.run(on_epoch)
    tracking_error = session.keep(report, args.output, args.html)
    if args.format == "json":
        write_output(report.model_dump_json(indent=2) + "\n", None)
    else:
        from rich.console import Console

        from ..report.bench import render_terminal

        console = Console(highlight=False)
        if not console.is_terminal:
            console = Console(highlight=False, width=132)
        render_terminal(report, console)
    if tracking_error is not None:
        raise tracking_error.kept(f"{out_dir}/")
    return 0


def _options(args: argparse.Namespace) -> dict:
    """The keyword arguments of :class:`phasm_perf.bench.run.BenchOptions` the options give."""
    opts = dict(surrogate=args.surrogate, activation=args.activation, dtype=args.dtype, samples=args.samples,
                min_samples=args.min_samples, epochs=args.epochs, patience=args.patience, seed=args.seed,
                device=args.device, threads=args.threads, hardware=args.hardware, repeats=args.repeats,
                timing_repeats=args.timing_repeats, swap=args.swap, timeout=args.timeout, runtime=args.runtime)
    if args.batch:
        opts["batches"] = list(args.batch)
    return opts


def _sweep(args: argparse.Namespace) -> dict | None:
    """The sweep's own options (:func:`phasm_perf.api.open_bench`), or None without --sweep."""
    if not args.sweep:
        return None
    return dict(surrogates=args.sweep_surrogates, dtypes=args.sweep_dtypes, train=args.sweep_train,
                scheduler=args.scheduler, workers=args.workers)


def _progress(quiet: bool):
    """A rich progress bar for the training epochs (a no-op context when quiet)."""
    import contextlib

    if quiet:
        return contextlib.nullcontext(), None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(TextColumn("training"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[loss]}"),
                        TimeElapsedColumn(), console=stderr, transient=False)
    task = {}

    def on_epoch(epoch: int, epochs: int, train_loss: float, val_loss: float) -> None:
        if "id" not in task:
            task["id"] = progress.add_task("train", total=epochs, loss="")
        progress.update(task["id"], completed=epoch,
                        loss=f"train {train_loss:.3g}  validation {val_loss:.3g}")

    return progress, on_epoch
