"""Profile a program (or read a bundle) and rank the functions worth replacing with a surrogate.

Each candidate gets its inclusive share of the run, its on-CPU/off-CPU split, its exact call count, time per call
and Amdahl's limit. Functions that mostly wait (off-CPU) are marked: a surrogate does not speed up a wait."""

from __future__ import annotations

import argparse
import datetime as _dt
import os
from pathlib import Path

from ..api import load_profile
from ..collect import ProfileOptions, profile
from ..core.errors import PhasmError
from ..report import RENDERERS, SUFFIX_FORMATS, RankOptions, build_report
from ..report.render import render_table
from ..core.output import check_output, write_output
from ._prediction import add_prediction_arguments, apply_predictions, check_prediction_arguments, write_html
from ._common import add_collect_arguments, add_program_arguments, add_selection_arguments, check_outcome, \
    split_command, stderr, target_from

NAME = "rank"
HELP = "profile a program (or read a bundle) and rank surrogate candidates"


def prepare_parser(parser: argparse.ArgumentParser) -> None:
    out = parser.add_argument_group("output")
    out.add_argument("--format", choices=sorted(RENDERERS), help="table (default), json, csv or markdown")
    out.add_argument("-o", "--output", metavar="FILE", help="write the report here (format from the suffix)")
    out.add_argument("--top", type=int, default=10, metavar="N", help="how many candidates to list (default 10)")
    out.add_argument("--bundle", metavar="DIR", help="where to keep the profile (default: phasm-out/NAME-TIME)")
    add_selection_arguments(parser)
    add_prediction_arguments(parser)
    add_collect_arguments(parser)
    add_program_arguments(parser, "TARGET")
    parser.set_defaults(_parser=parser)


def _default_bundle_dir(name: str) -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("phasm-out") / f"{Path(name).stem or 'prog'}-{stamp}"


def run(args: argparse.Namespace) -> int:
    words, as_command = split_command(args.cmd)
    if not words:
        raise PhasmError("nothing to rank: give a program (prog.py [ARGS...], or -- COMMAND) or a bundle directory")
    first = Path(words[0])
    is_profile = not as_command and (first.is_dir() or (first.is_file() and not _looks_like_program(first)))
    if is_profile and len(words) > 1:
        # a profile takes no arguments, so what follows it is rank's own options (`rank run.phasm --format json`)
        args = args._parser.parse_args(words[1:], namespace=argparse.Namespace(**vars(args)))
        if args.cmd:
            raise PhasmError(f"{words[0]!r} is a profile, not a program: it takes no arguments "
                             f"(unexpected {' '.join(args.cmd)!r})")
    fmt = args.format or (SUFFIX_FORMATS.get(Path(args.output).suffix.lower(), "table") if args.output else "table")
    check_prediction_arguments(args)
    for dest in (args.output, args.html):
        check_output(dest)
    bundle = None
    if is_profile:
        bundle = load_profile(first)
    else:
        target = target_from(args.cmd)
        dest = Path(args.bundle) if args.bundle else _default_bundle_dir(target.argv[1] if target.argv[0].endswith(
            ("python", "python3")) and len(target.argv) > 1 else target.argv[0])
        opts = ProfileOptions(collector=args.collector, interval=args.interval, counts=args.counts,
                              count_top=max(args.count_top, args.top), event_loop=args.event_loop,
                              min_fraction=args.min_fraction, show_output=args.show_output, force=args.force,
                              torch_profiler=args.torch_profiler)
        bundle = profile(target, dest, opts, on_status=lambda m: stderr.print(f"[dim]phasm-perf: {m}[/]"))
        stderr.print(f"[dim]phasm-perf: profile kept in {bundle.path}[/]")
    report = build_report(bundle, RankOptions(event_loop=args.event_loop, min_fraction=args.min_fraction,
                                              top=args.top))
    report, hardware = apply_predictions(args, report, bundle)
    if bundle.on_cpu or bundle.off_cpu:
        write_html(args, report, hardware)
        if fmt == "table" and not args.output:
            from rich.console import Console

            console = Console(highlight=False)
            if not console.is_terminal:
                console = Console(highlight=False, width=132)
            render_table(report, console)
        else:
            write_output(RENDERERS[fmt](report), args.output)
            if args.output:
                stderr.print(f"[dim]phasm-perf: wrote {args.output}[/]")
    check_outcome(bundle, bundle.meta.collector.interval_seconds or args.interval)
    return 0


def _looks_like_program(path: Path) -> bool:
    if path.suffix == ".py":
        return True
    try:
        with path.open("rb") as fh:
            head = fh.read(4)
    except OSError:
        return False
    return head == b"\x7fELF" or (head[:2] == b"#!" and os.access(path, os.X_OK))
