"""The command line: one module per subcommand, each with ``NAME``, ``HELP``, ``prepare_parser`` and ``run``.

Adding a subcommand is one new module plus one line in :data:`COMMANDS`. Every command is a thin layer: it parses,
calls the library, and renders. A :class:`~phasm_perf.core.errors.PhasmError` becomes one line on stderr and its exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from .. import __version__
from ..core.errors import PhasmError

#: subcommand modules, in the order ``--help`` lists them
COMMANDS = ["rank", "profile", "vars", "predict", "hw", "bench", "search", "flamegraph"]


class Parser(argparse.ArgumentParser):
    """argparse, with a usage error as one line (what is wrong, and where the help is) instead of the usage text."""

    def error(self, message: str):  # noqa: D102 (argparse's hook)
        self.exit(2, f"phasm-perf: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="phasm-perf",
        description="Find the function worth replacing with a neural-network surrogate, and predict the payoff.",
    )
    parser.add_argument("--version", action="version", version=f"phasm-perf {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"{__name__}.{name}")
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.__doc__)
        module.prepare_parser(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except PhasmError as exc:
        print(f"phasm-perf: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("phasm-perf: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    except OSError as exc:  # a file phasm-perf reads or writes that no stage turned into a PhasmError
        where = f" {exc.filename!r}" if exc.filename else ""
        print(f"phasm-perf: error:{where} {exc.strerror or exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
