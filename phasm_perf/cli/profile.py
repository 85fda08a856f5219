"""Run a program once under a sampler and write a profile bundle: meta.json, on-CPU and off-CPU folded stacks
from the same run, and exact call counts of the top candidates."""

from __future__ import annotations

import argparse

from ..collect import ProfileOptions, profile
from ._common import add_collect_arguments, add_program_arguments, add_selection_arguments, check_outcome, stderr, \
    target_from

NAME = "profile"
HELP = "run a program under a sampler and write a profile bundle"


def prepare_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", required=True, metavar="DIR", help="the bundle directory to write")
    add_collect_arguments(parser)
    add_selection_arguments(parser)
    add_program_arguments(parser)


def run(args: argparse.Namespace) -> int:
    target = target_from(args.cmd)
    opts = ProfileOptions(collector=args.collector, interval=args.interval, counts=args.counts,
                          count_top=args.count_top, event_loop=args.event_loop, min_fraction=args.min_fraction,
                          show_output=args.show_output, force=args.force, torch_profiler=args.torch_profiler)
    bundle = profile(target, args.output, opts, on_status=lambda m: stderr.print(f"[dim]phasm-perf: {m}[/]"))
    m = bundle.meta
    stderr.print(f"phasm-perf: wrote {bundle.path} ({m.status}, {m.samples} samples, {m.wall_seconds:.2f} s, "
                 f"calls: {m.counts.status})")
    check_outcome(bundle, args.interval)
    return 0
