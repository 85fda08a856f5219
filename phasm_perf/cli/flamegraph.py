"""Draw a profile as a flame graph: an interactive HTML page (zoom, search, on-CPU / off-CPU / both, candidates
highlighted, differential view), a static SVG, folded stacks or a speedscope JSON file.

SOURCE is a bundle directory or any profile file phasm-perf reads (folded, py-spy raw, speedscope, perf script,
callgrind, Scalene, Austin); its format is detected from the content unless --input-format says.
With --diff OTHER, the page compares SOURCE against OTHER (OTHER scaled to the same total): red frames take more
time in SOURCE, blue ones less."""

from __future__ import annotations

import argparse

from rich.markup import escape

from ..calltree.readers import FORMATS
from ..core.errors import PhasmError
from ..core.output import STDOUT, check_output, write_output
from ..report.formats import DEFAULT_MIN_WIDTH, FLAME_FORMATS, RANK_LIMIT, flame_format_for
from ._common import add_selection_arguments, fraction, stderr

NAME = "flamegraph"
HELP = "draw a profile as a flame graph (html, svg, folded, speedscope), or compare two"


def prepare_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="SOURCE", help="a bundle directory or a profile file")
    parser.add_argument("-o", "--output", metavar="FILE", help="where to write (default: stdout); format from suffix")
    parser.add_argument("--format", choices=sorted(FLAME_FORMATS), help="html (default), svg, folded or speedscope")
    parser.add_argument("--diff", metavar="OTHER", help="compare SOURCE against this profile (html and svg)")
    parser.add_argument("--input-format", choices=FORMATS, help="the format of SOURCE and OTHER (default: detected)")
    parser.add_argument("--force", action="store_true",
                        help="read a damaged profile as far as it can be read (the notes say what was skipped)")
    parser.add_argument("--view", choices=["both", "on", "off"], default="both",
                        help="which stacks svg, folded and speedscope outputs hold (default both; html has a toggle)")
    parser.add_argument("--min-width", type=fraction(upper_open=True), default=DEFAULT_MIN_WIDTH, metavar="F",
                        help=f"merge call paths narrower than this share of the total (default {DEFAULT_MIN_WIDTH:g})")
    parser.add_argument("--lines", action="store_true",
                        help="a frame per source line (default: a frame per function, its lines merged)")
    cand = parser.add_mutually_exclusive_group()
    cand.add_argument("--candidates", dest="candidates", action="store_true", default=None,
                      help=f"always rank and outline surrogate candidates (default: when the profile has at most "
                           f"{RANK_LIMIT:,} distinct stacks)")
    cand.add_argument("--no-candidates", dest="candidates", action="store_false",
                      help="do not rank and outline surrogate candidates")
    add_selection_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from ..api import flamegraph  # here, not at the top: `--help` must not wait for pandas (start-up time)

    fmt = flame_format_for(args.output, args.format)
    check_output(args.output)
    if args.diff and fmt not in ("html", "svg"):
        raise PhasmError(f"--diff draws html or svg, not {fmt}")
    text, notes = flamegraph(args.source, fmt=fmt, other=args.diff, input_format=args.input_format, view=args.view,
                             min_width=args.min_width, candidates=args.candidates, lines=args.lines,
                             event_loop=args.event_loop, min_fraction=args.min_fraction, force=args.force)
    write_output(text, args.output)
    if args.output and args.output != STDOUT:
        stderr.print(f"[dim]phasm-perf: wrote {args.output} ({fmt})[/]")
    for n in notes:
        stderr.print(f"[dim]phasm-perf: note: {escape(n)}[/]", highlight=False)
    return 0
