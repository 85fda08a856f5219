"""Search the surrogate design space: depth, widths, activation, dtype, learning rate, epochs and input
normalisation, trained on the function's captured calls, judged on calls held back from every trial (error) and by
the model's end-to-end speedup at the chosen batch on the chosen hardware (nothing is timed unless --measure-front).
Multi-objective (Optuna: TPE or NSGA-II), trials in parallel on Dask, resumable (--study, --storage), every trial
an MLflow run. The answer is the Pareto front.

    phasm-perf search --function particles:boris_push --trials 50 --hardware a100-80gb-pcie --batch 64 \\
        -o search.json -- examples/particles.py --events 10
"""

from __future__ import annotations

import argparse
import datetime as _dt
from pathlib import Path

from ..core.errors import PhasmError
from ..core.output import check_output, write_output
from ..model.spec import ACTIVATIONS, NORMALISATIONS, parse_dtype
from ._common import add_program_arguments, stderr, target_from, whole_number
from ._tracking import add_tracking_arguments, tracking_of

NAME = "search"
HELP = "search surrogate architectures: error against predicted speedup (Optuna on Dask), the Pareto front"


def _list(kind):
    def parse(text: str) -> tuple:
        try:
            out = tuple(kind(x.strip()) for x in text.split(",") if x.strip())
        except ValueError:
            out = ()
        if not out:
            raise argparse.ArgumentTypeError(f"{text!r}: give a list joined by commas")
        return out

    return parse


def prepare_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--function", required=True, metavar="MODULE:QUALNAME", help="the function to replace")
    _search_arguments(parser)
    _space_arguments(parser)
    _data_and_output_arguments(parser)
    add_tracking_arguments(parser)
    add_program_arguments(parser, "-- PROG")


def _search_arguments(parser: argparse.ArgumentParser) -> None:
    s = parser.add_argument_group("search")
    s.add_argument("--trials", type=int, default=50, metavar="N",
                   help="trials in the study, earlier sessions included (default 50)")
    s.add_argument("--objectives", default="error,speedup", metavar="LIST",
                   help="error,speedup (default), or error,speedup,batch to also minimise the break-even batch")
    s.add_argument("--hardware", default="local", metavar="NAME|local", help="the profile the speedup is predicted on")
    s.add_argument("--batch", type=whole_number(), default=None, metavar="B",
                   help="the batch the speedup is predicted at (default: the program's batch points, else 1)")
    s.add_argument("--sampler", default="tpe", choices=["tpe", "nsga2"], help="Optuna sampler (default tpe)")
    s.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                   help="the search's time budget: no trial starts after it (the running ones finish)")
    s.add_argument("--study", metavar="NAME", help="study name (default search-MODULE:FUNCTION)")
    s.add_argument("--storage", metavar="URL",
                   help="Optuna storage, e.g. sqlite:///search.db (default: optuna.db in --out); the same --study and "
                        "--storage continue a stopped search")
    s.add_argument("--seed", type=int, default=0, help="sampling, split and training seed (default 0)")
    s.add_argument("--min-speedup", type=float, default=1.0, metavar="X",
                   help="prune, before training, trials predicted below this speedup (default 1: no payoff)")
    s.add_argument("--no-prune", dest="prune", action="store_false",
                   help="train every trial to its end (default: stop one whose validation loss is still 10x that of "
                        "a finished trial predicted as fast, at 30%% and 60%% of its epochs)")
    s.add_argument("--measure-front", action="store_true",
                   help="time the front's surrogates at --batch with bench's timing: predicted against measured")


def _space_arguments(parser: argparse.ArgumentParser) -> None:
    sp = parser.add_argument_group("design space")
    sp.add_argument("--max-depth", type=whole_number(), default=4, metavar="N", help="hidden layers, 1..N (default 4)")
    sp.add_argument("--widths", type=_list(int), default=(8, 16, 32, 64, 128, 256), metavar="LIST",
                    help="widths a hidden layer may have (default 8,16,32,64,128,256)")
    sp.add_argument("--activations", type=_list(str), default=ACTIVATIONS, metavar="LIST",
                    help=f"default {','.join(ACTIVATIONS)}")
    sp.add_argument("--dtypes", type=_list(parse_dtype), default=("fp32", "bf16", "fp16"), metavar="LIST",
                    help="deployed dtypes (default fp32,bf16,fp16; those the hardware profile has no peak for "
                         "are dropped)")
    sp.add_argument("--normalisations", type=_list(str), default=NORMALISATIONS, metavar="LIST",
                    help=f"input normalisations (default {','.join(NORMALISATIONS)})")
    sp.add_argument("--epochs", type=whole_number(), default=400, metavar="N", help="at most N epochs (default 400)")
    sp.add_argument("--patience", type=whole_number(), default=30, metavar="N", help="early stopping (default 30)")


def _data_and_output_arguments(parser: argparse.ArgumentParser) -> None:
    d = parser.add_argument_group("data")
    d.add_argument("--samples", type=whole_number(), default=4096, metavar="N", help="capture budget (default 4096)")
    d.add_argument("--min-samples", type=whole_number(), default=64, metavar="N")
    d.add_argument("--synthetic", type=whole_number(0), default=0, metavar="N",
                   help="add N inputs sampled over the captured ranges, outputs from the original function")
    d.add_argument("--synthetic-method", default="lhs", choices=["lhs", "uniform"],
                   help="Latin hypercube (default) or uniform sampling")
    d.add_argument("--run-timeout", type=float, default=None, metavar="SECONDS", help="limit for each program run")
    w = parser.add_argument_group("Dask")
    w.add_argument("--scheduler", metavar="ADDRESS", help="an existing Dask scheduler (default: a local cluster)")
    w.add_argument("--workers", type=whole_number(), default=2, metavar="N", help="local cluster workers (default 2)")
    o = parser.add_argument_group("output")
    o.add_argument("--out", metavar="DIR", help="where to keep search.json/.html/.png and the trials' surrogates "
                                                "(default phasm-out/search-FUNCTION-TIME)")
    o.add_argument("-o", "--output", metavar="FILE", help="also write search.json here")
    o.add_argument("--html", metavar="FILE", help="also write the HTML page (with the plot) here")
    o.add_argument("--format", choices=["table", "json"], default="table", help="what to print (default table)")
    o.add_argument("--register", metavar="NAME", help="registered model name for the most accurate front point "
                                                      "(default phasm-perf.MODULE.FUNCTION)")
    o.add_argument("--alias", default="best", help="its alias in the registry (default best)")
    o.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")


def _options(args: argparse.Namespace):
    from ..search.run import SearchOptions
    from ..search.space import Space

    space = Space(max_depth=args.max_depth, widths=args.widths, activations=args.activations, dtypes=args.dtypes,
                  normalisations=args.normalisations)
    return SearchOptions(
        trials=args.trials, objectives=args.objectives, hardware=args.hardware, batch=args.batch,
        timeout=args.timeout, study=args.study, storage=args.storage, sampler=args.sampler, scheduler=args.scheduler,
        workers=args.workers, seed=args.seed, samples=args.samples, min_samples=args.min_samples,
        patience=args.patience, max_epochs=args.epochs, min_speedup=args.min_speedup, prune=args.prune,
        synthetic=args.synthetic,
        synthetic_method=args.synthetic_method, measure_front=args.measure_front, run_timeout=args.run_timeout,
        register=args.register, alias=args.alias, space=space)


def run(args: argparse.Namespace) -> int:
    from .. import api
    from ..report.search import render_html, render_terminal

    from ..search.run import validate

    target = target_from(args.cmd)
    opts = _options(args)
    validate(opts)
    _check_dependencies()
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    fname = args.function.replace(":", "-").replace("<", "").replace(">", "")
    out_dir = Path(args.out) if args.out else Path("phasm-out") / f"search-{fname}-{stamp}"
    if out_dir.exists() and not out_dir.is_dir():
        raise PhasmError(f"--out {str(out_dir)!r} is a file; give a folder")
    for dest in (args.output, args.html):
        check_output(dest)

    def status(msg: str) -> None:
        if not args.quiet:
            stderr.print(f"[dim]phasm-perf: {msg}[/]")

    progress, on_event = _progress(args.quiet)
    with progress:
        report = api.search_session(target, args.function, opts, out_dir, tracking_of(args),
                                    Path(args.out or "phasm-out"), status, on_event)
    text = report.model_dump_json(indent=2) + "\n"
    if args.output:
        write_output(text, args.output)
    if args.html:
        write_output(render_html(report), args.html)
    status(f"kept {out_dir}/search.json, search.html, search.png, trials/")
    if args.format == "json":
        write_output(text, None)
    else:
        from rich.console import Console

        console = Console(highlight=False)
        if not console.is_terminal:
            console = Console(highlight=False, width=140)
        render_terminal(report, console)
    if report._tracking_error is not None:
        raise report._tracking_error
    if report.status == "interrupted":
        stderr.print(f"phasm-perf: interrupted: {sum(t.state == 'complete' for t in report.trials)} finished "
                     f"trial(s) kept in {out_dir}/search.json and the study; continue with --study {report.study} "
                     f"--storage {report.storage}")
        return 130
    return 0


def _check_dependencies() -> None:
    for module, extra in (("torch", "bench"), ("optuna", "search"), ("distributed", "search"), ("jinja2", "search")):
        try:
            __import__(module)
        except ImportError:
            raise PhasmError(f"search needs {module}: pip install 'phasm-perf[{extra}]'") from None


def _progress(quiet: bool):
    """A rich progress bar over the trials (a no-op context when quiet)."""
    import contextlib

    if quiet:
        return contextlib.nullcontext(), None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(TextColumn("trials"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[best]}"),
                        TimeElapsedColumn(), console=stderr, transient=False)
    task: dict = {}

    def on_event(e: dict) -> None:
        if "id" not in task:
            task["id"] = progress.add_task("trials", total=e["total"], best="")
            task["best"] = None
        if e["state"] == "complete" and (task["best"] is None or e["error"] < task["best"][0]):
            task["best"] = (e["error"], e["speedup"], e["architecture"])
        b = task["best"]
        best = f"best error {b[0]:.2%} ({b[2]}, {b[1]:.3g}x)" if b else ""
        progress.update(task["id"], completed=e["done"], best=best)

    return progress, on_event
