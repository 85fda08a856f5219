"""Run a program once under a sampler and write a profile bundle: meta.json, on-CPU and off-CPU folded stacks
from the same run, and exact call counts of the top candidates."""

from __future__ import annotations

import argparse

from ._common import add_collect_arguments, add_program_arguments, add_selection_arguments, \
    profile_options, status, stderr, target_from

NAME = "profile"
HELP = "run a program under a sampler and write a profile bundle"


def prepare_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", required=True, metavar="DIR", help="the bundle directory to write")
    add_collect_arguments(parser)
    add_selection_arguments(parser)
    add_program_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from .. import api  # here, not at the top: `--help` must not wait for pandas (start-up time, ARCHITECTURE.md)

    target = target_from(args.cmd)
    bundle = api.profile(target, out=args.output, on_status=status, **profile_options(args))
    m = bundle.meta
    stderr.print(f"phasm-perf: wrote {bundle.path} ({m.status}, {m.samples} samples, {m.wall_seconds:.2f} s, "
                 f"calls: {m.counts.status})")
    api.check_outcome(bundle, args.interval)
    return 0
