"""Profile a program (or read a bundle) and rank the functions worth replacing with a surrogate.

Each candidate gets its inclusive share of the run, its on-CPU/off-CPU split, its exact call count, time per call
and Amdahl's limit. Functions that mostly wait (off-CPU) are marked: a surrogate does not speed up a wait."""

from __future__ import annotations

import argparse
import datetime as _dt
import os
from pathlib import Path

from ..core.errors import PhasmError
from ..core.output import STDOUT, check_output, write_output
from ..report.formats import REPORT_FORMATS, SUFFIX_FORMATS
from ._common import add_collect_arguments, add_program_arguments, add_selection_arguments, \
    console_for_stdout, profile_options, split_command, status, stderr, target_from, whole_number
from ._prediction import add_prediction_arguments, check_prediction_arguments, prediction_options

NAME = "rank"
HELP = "profile a program (or read a bundle) and rank surrogate candidates"


def prepare_parser(parser: argparse.ArgumentParser) -> None:
    out = parser.add_argument_group("output")
    out.add_argument("--format", choices=sorted(REPORT_FORMATS), help="table (default), json, csv or markdown")
    out.add_argument("-o", "--output", metavar="FILE", help="write the report here (format from the suffix)")
    out.add_argument("--top", type=whole_number(), default=10, metavar="N",
                     help="how many candidates to list (default 10)")
    out.add_argument("--bundle", metavar="DIR", help="where to keep the profile (default: phasm-out/NAME-TIME)")
    add_selection_arguments(parser)
    add_prediction_arguments(parser)
    add_collect_arguments(parser)
    add_program_arguments(parser, "TARGET")
    parser.set_defaults(_parser=parser)


def _default_bundle_dir(name: str) -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("phasm-out") / f"{name}-{stamp}"


def run(args: argparse.Namespace) -> int:
    # the library (pandas, pydantic) is imported here, not at the top: `--help` and a program's start must not wait
    # for it (start-up time, ARCHITECTURE.md)
    from .. import api
    from ..report import RENDERERS
    from ..report.render import render_table

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
    target = None
    if is_profile:
        if args.observe:
            raise PhasmError("--vars observes the program as it runs: give the program (rank --vars N prog.py ...), "
                             "not a profile")
        bundle = api.load_profile(first, force=args.force)
    else:
        target = target_from(args.cmd)
        if args.observe and target.kind != "python":
            raise PhasmError(f"--vars observes Python functions; {target.display!r} is {target.kind}: run "
                             "phasm-perf vars --function SYMBOL -- PROG on the compiled function, then give "
                             "--inputs, --outputs and --independent")
        dest = Path(args.bundle) if args.bundle else _default_bundle_dir(target.display_name)
        bundle = api.profile(target, out=dest, on_status=status,
                             **profile_options(args, count_top=max(args.count_top, args.top)))
        stderr.print(f"[dim]phasm-perf: profile kept in {bundle.path}[/]")
    predict = dict(prediction_options(args), target=target, observe=args.observe) if args.hardware else {}
    report = api.rank(bundle, event_loop=args.event_loop, min_fraction=args.min_fraction, top=args.top, **predict)
    if bundle.on_cpu or bundle.off_cpu:
        if args.html:
            write_output(api.rank_html(report, args.hardware), args.html)
            if args.html != STDOUT:
                stderr.print(f"[dim]phasm-perf: wrote {args.html}[/]")
        if fmt == "table" and not args.output:
            render_table(report, console_for_stdout())
        else:
            write_output(RENDERERS[fmt](report), args.output)
            if args.output and args.output != STDOUT:
                stderr.print(f"[dim]phasm-perf: wrote {args.output}[/]")
    api.check_outcome(bundle)
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
